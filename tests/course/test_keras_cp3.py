"""The CP3 Masterclass scripts (CP3-Origins/advanced-machine-learning @ 95203e54, code/week 1-4) and the FY555
iris lecture (mahus-code/MahusFY555 @ 507bd77e, Lectures/lecture13.py) on physnn, as the course writes them
with only the imports changed (``import physnn as keras``, ``from physnn.layers import Dense`` ...).

What is not the course's own text, and why:
* plots are left out, and ``verbose=0`` keeps the test log short;
* a seed (``keras.utils.set_random_seed``) where the course leaves the run unseeded, so the numbers can be pinned;
* TensorFlow calls (``tf.math.multiply``, ``tf.reduce_mean``, ``tf.nn.relu``, ``tf.cast``) become the Keras-3
  ``ops`` functions of the same name (physnn.ops), as Keras 3 itself recommends;
* data that is not on this machine (CIFAR-10 and IMDB through ``tensorflow_datasets``) is replaced by data that is:
  scikit-learn's 8x8 digits for the ANN/CNN scripts, a generated review corpus for the text script;
* the GradientTape loop of week 2 (reinforcement.py) is the README's translation to ``jax.value_and_grad``.
The numbers are Keras's, measured with Keras 3.15 / TensorFlow 2.21 on the same scripts and seeds (README,
"From the course's Keras code to physnn").
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder, StandardScaler

import physnn as keras
from physnn import ops
from physnn.initializers import Ones
from physnn.layers import Dense, Input
from physnn.models import Model, Sequential
from physnn.optimizers import Adam
from physnn.regularizers import L1
from physnn.utils import to_categorical

pytestmark = pytest.mark.slow


# ----------------------------------------------------------------------------------------- week 1: iris


def _iris():
    X = load_iris().data
    y = load_iris().target
    label_encoder = LabelEncoder()
    y = label_encoder.fit_transform(y)
    y_one_hot = to_categorical(y)
    X_train, X_test, y_train, y_test = train_test_split(X, y_one_hot, test_size=0.2, random_state=42)
    scaler = StandardScaler()
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.transform(X_test)
    return X_train, X_test, y_train, y_test


def _main():  # code/week 1/main.py
    model = Sequential()
    model.add(Dense(units=8, input_dim=4, activation='relu'))
    model.add(Dense(units=3, activation='softmax'))
    return model, 200


def _sequential():  # code/week 1/sequential.py
    model = Sequential([
        Dense(units=8, input_dim=4, activation='relu'),
        Dense(units=3, activation='softmax')
    ])
    return model, 200


def _functional():  # code/week 1/functional.py
    input = Input(shape=(4,))
    x = Dense(units=8, activation='relu')(input)
    output = Dense(units=3, activation='softmax')(x)
    model = Model(input, output)
    return model, 200


def _subclassing():  # code/week 1/subclassing.py
    class Network(Model):

        def __init__(self):
            super().__init__()
            self.dense1 = Dense(units=8, activation='relu')
            self.dense2 = Dense(units=3, activation='softmax')

        def call(self, input_shape):
            x = self.dense1(input_shape)
            x = self.dense2(x)
            return x

    model = Network()
    return model, 200


def _fy555():  # FY555 Lectures/lecture13.py: sigmoid hidden layer, 20 epochs
    model = Sequential()
    model.add(Dense(units=8, input_dim=4, activation='sigmoid'))
    model.add(Dense(units=3, activation='softmax'))
    return model, 20


@pytest.mark.parametrize("style, minimum", [(_main, 0.93), (_sequential, 0.93), (_functional, 0.93),
                                            (_subclassing, 0.93), (_fy555, 0.9)],
                         ids=["main", "sequential", "functional", "subclassing", "fy555"])
def test_iris_in_every_style_reaches_keras_accuracy(style, minimum):
    keras.utils.set_random_seed(0)
    X_train, X_test, y_train, y_test = _iris()
    model, epochs = style()
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(X_train, y_train, epochs=epochs, batch_size=8, validation_split=0.2, verbose=0)
    loss, accuracy = model.evaluate(X_test, y_test)
    assert accuracy >= minimum
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(history.history["loss"]) == epochs


def test_the_three_styles_are_one_network():
    """main.py, sequential.py and subclassing.py build the same 4-8-3 network: with one seed, one set of
    weights and one training run (the functional one names its layers in another order of creation)."""
    keras.utils.set_random_seed(0)
    X_train, X_test, y_train, y_test = _iris()
    results = []
    for style in (_main, _sequential, _subclassing):
        keras.utils.set_random_seed(0)
        model, _ = style()
        model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
        model.fit(X_train, y_train, epochs=5, batch_size=8, validation_split=0.2, verbose=0)
        results.append(model.evaluate(X_test, y_test))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
    np.testing.assert_allclose(results[0], results[2], rtol=1e-6)


# ------------------------------------------------------------------------- week 2: ODEs with trial solutions


class SupervisedSolver:
    """code/week 2/supervised.py: a supervised fit of the exact solution."""

    def __init__(self, sol):
        self.sol = sol
        x, y = self.generate_data()
        X_train, X_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
        self.optimizer = keras.optimizers.Adam(
            learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False, name='Adam')
        self.model = Sequential(
            [
                Input(shape=(1,)),
                Dense(32, activation="relu", name="layer1"),
                Dense(32, activation="relu", name="layer2"),
                Dense(32, activation="relu", name="layer3"),
                Dense(1, name="output"),
            ]
        )
        self.model.compile(optimizer=self.optimizer, loss='mse', metrics=['accuracy'])
        self.model.fit(X_train, y_train, epochs=10, batch_size=32, validation_split=0.2, verbose=0)
        self.test_mse = self.model.evaluate(X_test, y_test)[0]

    def generate_data(self):
        data_points = int(10e3)
        scale = 2
        x = np.random.rand(data_points, 1) * scale
        y = self.sol(x)
        return x, y


def test_week2_supervised_solver_fits_the_exact_solution():
    keras.utils.set_random_seed(0)
    solver = SupervisedSolver(lambda x: x ** 3 / 3 - x ** 2 + 1)  # func3
    assert solver.test_mse < 1e-3
    X = np.linspace(0, 2, 100)
    result = solver.model(X).numpy()[:, 0]  # compare_result: model(X) on a 1-D array of 100 points
    np.testing.assert_allclose(result, X ** 3 / 3 - X ** 2 + 1, atol=0.05)


class NeuralSolver:
    """code/week 2/reinforcement.py, with its GradientTape loop written as the README's recipe: the loss is a
    function of the parameters (``model.apply``), ``jax.value_and_grad`` gives its gradient, and the Keras-named
    optimiser's functional form applies it. The course's loss is kept: the forward difference of the trial
    solution g(x) = f0 + x NN(x) at 10 points, squared against u'(x)."""

    def __init__(self, f0, func):
        self.f0 = f0
        self.func = func
        self.inf_s = np.sqrt(np.finfo(np.float32).eps)
        self.epochs = 100
        self.display_step = 10
        self.optimizer = keras.optimizers.Adam(
            learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False, name='Adam')
        self.model = Sequential(
            [
                Input(shape=(1,)),
                Dense(8, activation="relu", name="layer1"),
                Dense(32, activation="relu", name="layer2"),
                Dense(32, activation="relu", name="layer3"),
                Dense(8, activation="relu", name="layer4"),
                Dense(1, name="output"),
            ]
        )
        self.losses = self.train()

    def solution(self, x, params=None):
        """Call this function to use the trained model"""
        tensor_input = jnp.asarray(x, jnp.float32).reshape(-1, 1)
        params = self.model.params if params is None else params
        return tensor_input * self.model.apply(params, tensor_input) + self.f0

    def custom_loss(self, params):
        x = np.linspace(0, 2, 10)
        dNN = (self.solution(x + self.inf_s, params) - self.solution(x, params)) / self.inf_s
        return jnp.sum(jnp.abs((dNN[:, 0] - self.func(x)) ** 2))

    def train(self):
        optimizer = self.optimizer.functional()  # the init/update pair of Adam(learning_rate=0.01, ...)
        state = optimizer.init(self.model.params)

        @jax.jit
        def train_step(params, state):  # GradientTape + tape.gradient + apply_gradients
            loss, gradients = jax.value_and_grad(self.custom_loss)(params)
            updates, state = optimizer.update(gradients, state, params)
            return jax.tree_util.tree_map(lambda p, u: p - u, params, updates), state, loss

        losses = []
        for _ in range(self.epochs):
            self.model.params, state, loss = train_step(self.model.params, state)
            losses.append(float(loss))
        return losses


def test_week2_reinforcement_solver_translated_from_gradient_tape():
    keras.utils.set_random_seed(0)
    solver = NeuralSolver(1, lambda x: 2 * x)  # func1: u' = 2x, u(0) = 1, u = x^2 + 1
    assert solver.losses[-1] < 0.05 * solver.losses[0]
    X = np.linspace(0, 2, 100)
    np.testing.assert_allclose(np.asarray(solver.solution(X))[:, 0], X ** 2 + 1, atol=0.15)


# -------------------------------------------------------------------------------- week 3: ANN, CNN, text


def _digits_images():
    """The ANN/CNN scripts' data, with 8x8 digits in place of CIFAR-10 (not on this machine), scaled to [0, 1]."""
    digits = load_digits()
    images = (digits.images / 16.0)[..., None]
    return train_test_split(images, digits.target, test_size=0.2, random_state=0)


def test_week3_ann_and_cnn_as_the_course_writes_them():
    """code/week 3/ann.py and cnn.py (their layers, loss with from_logits=True on a softmax output as the course
    has it, optimiser, batch size, validation split), on 8x8 digits: both learn. The course's loss treats the
    probabilities as logits (physnn warns), which leaves the CNN's accuracy at the mercy of the seed: 0.64-0.87
    over seeds 0-7 (median 0.82; 0.65-0.95 with the shuffle before ``shuffle_order``), the ANN's >= 0.95."""
    keras.utils.set_random_seed(0)
    train_images, test_images, train_labels, test_labels = _digits_images()
    layers = keras.layers
    ann = keras.Sequential([
        layers.Flatten(input_shape=(8, 8, 1)),
        layers.Dense(units=100, activation='relu'),
        layers.Dense(units=100, activation='relu'),
        layers.Dense(units=64, activation='relu'),
        layers.Dense(units=32, activation='relu'),
        layers.Dense(units=10, activation='softmax')
    ])
    cnn = keras.Sequential([
        layers.Conv2D(32, (3, 3), activation='relu', input_shape=(8, 8, 1,)),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, (2, 2), activation='relu'),  # (3, 3) then a second pool would not fit 8x8
        layers.Flatten(),
        layers.Dense(32, activation='relu'),
        layers.Dense(16, activation='relu'),
        layers.Dense(10, activation='softmax')
    ])
    accuracies = []
    for model in (ann, cnn):
        model.summary(print_fn=None)
        model.compile(optimizer='adam', loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=['accuracy'])
        model.fit(train_images, train_labels, epochs=20, batch_size=16, validation_split=0.2, verbose=0)
        test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
        accuracies.append(test_acc)
    assert accuracies[0] >= 0.9 and accuracies[1] >= 0.6  # (chance: 0.1)


def _reviews(n, seed):
    """A review corpus in place of IMDB: positive and negative words among neutral ones, 3 to 30 words long (so
    the padding the mask hides varies from review to review)."""
    rng = np.random.default_rng(seed)
    good, bad = ["great", "wonderful", "superb", "moving", "fun"], ["awful", "boring", "dull", "bad", "weak"]
    neutral = ["the", "film", "movie", "plot", "actor", "scene", "was", "and", "a", "it", "story", "music"]
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(2))
        words = list(rng.choice(neutral, int(rng.integers(3, 30))))
        for _ in range(int(rng.integers(1, 3))):
            words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(good if label else bad)))
        texts.append(" ".join(words).capitalize() + "!")
        labels.append(label)
    return np.array(texts), np.array(labels, np.float32)


def test_week3_text_classification_with_textvectorization_and_masking():
    """code/week 3/text.py: TextVectorization, Embedding(mask_zero=True), Bidirectional(LSTM(64)), a sigmoid
    output with BinaryCrossentropy(from_logits=True) (as the course has it) and Adam(1e-4)."""
    keras.utils.set_random_seed(0)
    train_text, train_label = _reviews(512, 0)
    test_text, test_label = _reviews(256, 1)
    VOCAB_SIZE = 1000
    encoder = keras.layers.TextVectorization(max_tokens=VOCAB_SIZE)
    encoder.adapt(train_text)
    model = keras.Sequential([
        encoder,
        keras.layers.Embedding(
            input_dim=len(encoder.get_vocabulary()),
            output_dim=64,
            mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM(64)),
        keras.layers.Dense(1, activation="sigmoid")
    ])
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.Adam(1e-3),  # (the course's 1e-4 needs IMDB's 25,000 reviews)
                  metrics=['accuracy'])
    model.fit(train_text, train_label, epochs=10, batch_size=64, validation_data=(test_text, test_label), verbose=0)
    test_loss, test_acc = model.evaluate(test_text, test_label)
    assert test_acc >= 0.9


# ------------------------------------------------------------------- week 4: regulariser, physics loss, net


class WaveNetwork:
    """code/week 4/regularizer.py, regularizer_sol.py and physics_loss_sol.py: |psi_10(x)|^2 of the infinite
    well (L = 2) at 200 random points per sample, data of shape (10000, 200, 1) into Input(shape=(200,))."""

    def __init__(self, regularize=False, physics=False):
        self.data_points = 200
        self.l = 2
        x, y = self.generate_data()
        X_train, X_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
        self.optimizer = keras.optimizers.Adam(
            learning_rate=0.0001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False, name='Adam')
        regularizer = L1(1e-5) if regularize else None
        self.model = Sequential(
            [
                Input(shape=(self.data_points,)),
                Dense(128, activation="relu", kernel_regularizer=regularizer),
                Dense(128, activation="relu", kernel_regularizer=regularizer),
                Dense(128, activation="relu", kernel_regularizer=regularizer),
                Dense(128, activation="relu", kernel_regularizer=regularizer),
                Dense(128, activation="relu", kernel_regularizer=regularizer),
                Dense(self.data_points, name="output"),
            ]
        )
        self.model.compile(optimizer=self.optimizer, loss=self.physics_loss if physics else 'mse', metrics=['mse'])
        self.history = self.model.fit(X_train, y_train, epochs=100, batch_size=32, validation_split=0.2, verbose=0)
        self.test_loss, self.test_mse = self.model.evaluate(X_test, y_test)

    def physics_loss(self, y_true, y_pred):
        squared_difference = ops.square(y_true - y_pred)
        loss = ops.mean(squared_difference, axis=-1)
        physics_loss = ops.abs(ops.multiply(ops.mean(y_pred), self.l) - 1)
        loss += ops.relu(physics_loss - 0.01)
        return loss

    def generate_data(self):
        x_list = []
        y_list = []
        for i in range(10000):  # noqa: B007
            n = 10
            x = np.random.rand(self.data_points, 1) * self.l
            psi = lambda x: np.sqrt(2 / self.l) * np.sin(x * n * np.pi / self.l)  # noqa: E731, B023
            x_list.append(x)
            y_list.append(psi(x)**2)
        return np.array(x_list), np.array(y_list)


@pytest.mark.parametrize("kind, keras_mse", [("regularizer", 0.1251), ("physics", 0.126)])
def test_week4_wave_function_networks_match_keras(kind, keras_mse):
    """Keras 3.15 on the same script and seed: test MSE 0.1251 (L1 solution; loss 0.1264 with the penalty)."""
    keras.utils.set_random_seed(0)
    net = WaveNetwork(regularize=kind == "regularizer", physics=kind == "physics")
    assert net.test_mse == pytest.approx(keras_mse, rel=0.05)
    assert sorted(net.history.history) == ["loss", "mse", "val_loss", "val_mse"]
    if kind == "regularizer":
        assert net.test_loss > net.test_mse  # the L1 penalty is in the loss, not in the metric


g = 9.7
v_0 = 20
scale = 5


def generate_data():
    x_list = []
    y_list = []
    for i in range(10000):  # noqa: B007
        x = np.random.rand(100) * scale
        x_t = lambda t: v_0 * t - 1/2 * g * t**2  # noqa: E731
        x_list.append(x)
        y_list.append(x_t(x))
    return np.array(x_list), np.array(y_list)


class PhysicsNet(Model):
    """code/week 4/physics_net_sol.py, verbatim but for tf.math -> ops (its bug kept: both branches end in
    dense2e, dense1e is never used)."""

    def __init__(self):
        super().__init__()
        self.dense1a = Dense(units=100, activation='relu')
        self.dense1b = Dense(units=50, activation='relu')
        self.dense1c = Dense(units=10, activation='relu')
        self.dense1d = Dense(units=5, activation='relu')
        self.dense1e = Dense(units=1, activation='relu', kernel_initializer=Ones())
        self.dense2a = Dense(units=100, activation='relu')
        self.dense2b = Dense(units=50, activation='relu')
        self.dense2c = Dense(units=10, activation='relu')
        self.dense2d = Dense(units=5, activation='relu')
        self.dense2e = Dense(units=1, activation='relu', kernel_initializer=Ones())
        self.g = 0
        self.v0 = 0

    def call(self, input_shape):
        t = input_shape
        g = self.dense1a(t)
        g = self.dense1b(g)
        g = self.dense1c(g)
        g = self.dense1d(g)
        self.g = self.dense2e(g)
        v0 = self.dense2a(t)
        v0 = self.dense2b(v0)
        v0 = self.dense2c(v0)
        v0 = self.dense2d(v0)
        self.v0 = self.dense2e(v0)
        x = ops.multiply(self.v0, t) - ops.multiply(ops.multiply(ops.convert_to_tensor(0.5), self.g), ops.power(t, 2))
        return x


def test_week4_projectile_network_learns_the_trajectory():
    """Keras 3.15, same script: test MSE 0.71 (the issue's figure); physnn must reach <= 1.0, the median of
    seeds 0-2 (one seed's MSE ranges over 0.63-1.15 for seeds 0-5, median 0.82)."""
    mses = []
    for seed in range(3):
        keras.utils.set_random_seed(seed)
        x, y = generate_data()
        X_train, X_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
        model = PhysicsNet()
        model.compile(optimizer='adam', loss="mse", metrics=['mse'])
        model.fit(X_train, y_train, epochs=10, batch_size=10, validation_split=0.2, verbose=0)
        test_loss, test_mse = model.evaluate(X_test, y_test)
        mses.append(test_mse)
    assert np.median(mses) <= 1.0, mses
    t = np.array([np.linspace(0, 5, 100)])
    assert model(t).numpy()[0].shape == (100,)


class Projectile(Model):
    """The exercise's PhysicsNet (physics_net.py) with its placeholders self.g = 0, self.v0 = 0 made trainable, as
    the exercise asks: Keras's add_weight, initialised to 1 ("initialise the trainable parameters to
    appropriate values")."""

    def __init__(self):
        super().__init__()
        self.g = self.add_weight(shape=(), initializer="ones", trainable=True, name="g")
        self.v0 = self.add_weight(shape=(), initializer=Ones(), trainable=True, name="v0")

    def call(self, input_shape):
        t = input_shape
        return ops.multiply(self.v0, t) - ops.multiply(ops.multiply(0.5, self.g), ops.power(t, 2))


def test_week4_projectile_with_add_weight_recovers_g_and_v0():
    keras.utils.set_random_seed(0)
    x, y = generate_data()
    X_train, X_test, y_train, y_test = train_test_split(x[:2000], y[:2000], test_size=0.2, random_state=42)
    model = Projectile()
    model.compile(optimizer=Adam(learning_rate=0.1), loss="mse", metrics=['mse'])
    model.fit(X_train, y_train, epochs=30, batch_size=10, validation_split=0.2, verbose=0)
    assert float(model.g) == pytest.approx(g, rel=1e-3)
    assert float(model.v0.numpy()) == pytest.approx(v_0, rel=1e-3)
    assert [w.shape for w in model.trainable_weights] == [(), ()]
    assert model.evaluate(X_test, y_test)[1] < 1e-3
