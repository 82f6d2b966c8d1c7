"""The Keras namespaces a course script imports (``from physnn import layers, models, optimizers, regularizers,
losses, initializers, utils, ops``): utils, regularizers, initializers, losses (against torch.nn.functional and
Keras's equations in NumPy), optimizers (update equations against torch.optim and NumPy transcriptions of Keras 3's
update_step), ops, and the compile/fit/save/load round trips."""

import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physnn
from physnn import initializers, regularizers, utils


@pytest.fixture
def restore_seeds():
    """set_random_seed changes global state: put the default seed and the global generators back afterwards."""
    py_state, np_state, seed = random.getstate(), np.random.get_state(), utils.default_seed()
    yield
    random.setstate(py_state)
    np.random.set_state(np_state)
    utils._default_seed = seed


# ------------------------------------------------------------------------------------------------- utils


def test_to_categorical_is_keras_one_hot():
    np.testing.assert_array_equal(utils.to_categorical([0, 1, 2, 3], num_classes=4), np.eye(4))
    out = utils.to_categorical(np.array([[2], [0], [1]]))  # a trailing axis of 1 is dropped, classes inferred
    assert out.shape == (3, 3) and out.dtype == np.float64
    np.testing.assert_array_equal(out, np.eye(3)[[2, 0, 1]])
    grid = utils.to_categorical(np.array([[0, 3], [1, 1]]), 5)
    assert grid.shape == (2, 2, 5) and grid[0, 1, 3] == 1 and grid.sum() == 4
    np.testing.assert_array_equal(utils.to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])


@pytest.mark.parametrize("labels, classes, message", [
    ([0, 3], 3, r"labels must be in \[0, num_classes=3\)"),
    ([-1, 0], None, r"labels must be in \[0"),
    ([0.5, 1.0], None, "integer class labels.*non-integer"),
    ([0, 1], 0, "num_classes must be an integer >= 1"),
    (["a"], None, "integer class labels"),
])
def test_to_categorical_refuses_bad_labels(labels, classes, message):
    with pytest.raises(ValueError, match=message):
        utils.to_categorical(labels, classes)


def test_set_random_seed_seeds_python_numpy_and_the_default_model_seed(restore_seeds):
    assert utils.default_seed() == 0
    utils.set_random_seed(1234)
    first = (random.random(), np.random.rand())
    utils.set_random_seed(1234)
    assert (random.random(), np.random.rand()) == first and utils.default_seed() == 1234
    utils.set_random_seed(7)
    assert (random.random(), np.random.rand()) != first and utils.default_seed() == 7
    for bad in (-1, 2.0, True, 2**32):
        with pytest.raises(ValueError, match="seed must be an integer"):
            utils.set_random_seed(bad)


@pytest.mark.xfail(strict=True, reason="models.py must take utils.default_seed() when seed is not given")
def test_models_created_after_set_random_seed_take_its_seed(restore_seeds):
    from physnn.layers import Dense, Input

    utils.set_random_seed(42)
    model = physnn.Sequential([Input((3,)), Dense(2)])
    assert model.seed == 42
    assert physnn.Sequential([Input((3,)), Dense(2)], seed=5).seed == 5


def test_normalize_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, axis=0, order=1), [[1.0, 1.0], [0.0, 0.0]])


# ------------------------------------------------------------------------------------------ regularizers

W = np.array([[1.0, -2.0], [0.5, 3.0]])


def test_regularizer_penalties_are_keras_s_without_a_half():
    with jax.enable_x64(True):
        w = jnp.asarray(W)
        assert float(regularizers.L1(0.3)(w)) == pytest.approx(0.3 * 6.5, rel=1e-12)
        assert float(regularizers.L2(0.3)(w)) == pytest.approx(0.3 * 14.25, rel=1e-12)
        assert float(regularizers.L1L2(0.1, 0.2)(w)) == pytest.approx(0.1 * 6.5 + 0.2 * 14.25, rel=1e-12)
        assert float(regularizers.l2()(w)) == pytest.approx(0.01 * 14.25, rel=1e-12)  # Keras's default 0.01
        assert float(regularizers.l1()(w)) == pytest.approx(0.01 * 6.5, rel=1e-12)
        assert float(regularizers.l1_l2()(w)) == 0.0  # Keras 3's L1L2 defaults to 0, 0
        tree = {"a": w, "b": [jnp.asarray([2.0])]}  # over a pytree: every leaf
        assert float(regularizers.L2(1.0)(tree)) == pytest.approx(14.25 + 4.0, rel=1e-12)


def test_regularizer_names_configs_and_refusals():
    assert isinstance(regularizers.get("l2"), regularizers.L2) and regularizers.get("L1").l1 == 0.01
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get(None) is None
    reg = regularizers.L1L2(l1=0.5, l2=0.25)
    data = regularizers.serialize(reg)
    assert data == {"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.25}}
    assert regularizers.deserialize(data) == reg and regularizers.get(data) == reg
    fn = lambda w: jnp.sum(w)  # noqa: E731
    assert regularizers.get(fn) is fn
    with pytest.raises(ValueError, match=r"l2 must be a finite number >= 0, got -1"):
        regularizers.L2(-1)
    with pytest.raises(ValueError, match="l1 must be"):
        regularizers.l1(float("nan"))
    with pytest.raises(ValueError, match=r"kernel_regularizer='l3' is not known"):
        regularizers.get("l3", "kernel_regularizer")
    with pytest.raises(ValueError, match="unknown regulariser class 'Evil'"):
        regularizers.deserialize({"class_name": "Evil", "config": {}})


# ------------------------------------------------------------------------------------------ initializers

FAN_IN, FAN_OUT = 400, 300
SHAPE = (FAN_IN, FAN_OUT)
TRUNC = 0.87962566103423978  # the std of a standard normal truncated to [-2, 2]


def _normal(mean, std, bound=None):
    return {"mean": mean, "std": std, "bound": bound}


def _uniform(low, high):
    return {"mean": (low + high) / 2, "std": (high - low) / np.sqrt(12), "bound": (low, high)}


def _truncated(mean, std):  # std: that of the truncated values; the bound is 2 sigma of the untruncated normal
    return {"mean": mean, "std": std, "bound": (mean - 2 * std / TRUNC, mean + 2 * std / TRUNC)}


STATISTICS = {
    "GlorotUniform": (initializers.GlorotUniform(), _uniform(-np.sqrt(6 / 700), np.sqrt(6 / 700))),
    "GlorotNormal": (initializers.GlorotNormal(), _truncated(0.0, np.sqrt(2 / 700))),
    "HeNormal": (initializers.HeNormal(), _truncated(0.0, np.sqrt(2 / FAN_IN))),
    "HeUniform": (initializers.HeUniform(), _uniform(-np.sqrt(6 / FAN_IN), np.sqrt(6 / FAN_IN))),
    "LecunNormal": (initializers.LecunNormal(), _truncated(0.0, np.sqrt(1 / FAN_IN))),
    "LecunUniform": (initializers.LecunUniform(), _uniform(-np.sqrt(3 / FAN_IN), np.sqrt(3 / FAN_IN))),
    "RandomNormal": (initializers.RandomNormal(mean=1.0, stddev=0.5), _normal(1.0, 0.5)),
    "RandomUniform": (initializers.RandomUniform(minval=-0.2, maxval=0.6), _uniform(-0.2, 0.6)),
    "TruncatedNormal": (initializers.TruncatedNormal(mean=0.5, stddev=0.1), _truncated(0.5, 0.1 * TRUNC)),
    "VarianceScaling": (initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal"),
                        _normal(0.0, np.sqrt(3 / FAN_OUT))),
    "VarianceScaling/uniform": (initializers.VarianceScaling(2.0, "fan_avg", "uniform"),
                                _uniform(-np.sqrt(6 * 2 / 700), np.sqrt(6 * 2 / 700))),
    "Orthogonal": (initializers.Orthogonal(gain=2.0), _normal(0.0, 2.0 / np.sqrt(FAN_IN))),
    "Zeros": (initializers.Zeros(), _normal(0.0, 0.0, (0.0, 0.0))),
    "Ones": (initializers.Ones(), _normal(1.0, 0.0, (1.0, 1.0))),
    "Constant": (initializers.Constant(2.5), _normal(2.5, 0.0, (2.5, 2.5))),
    "Identity": (initializers.Identity(gain=3.0), _normal(3.0 / FAN_IN, np.sqrt(9 / FAN_IN - (3 / FAN_IN) ** 2),
                                                          (0.0, 3.0))),
}


def test_the_statistics_table_covers_every_initializer_class():
    assert {name.split("/")[0] for name in STATISTICS} == set(initializers.CLASSES)


@pytest.mark.parametrize("name", sorted(STATISTICS))
def test_initializer_mean_std_and_limits(name):
    init, stats = STATISTICS[name]
    raw = init.sample(np.random.default_rng(0), SHAPE)
    assert raw.shape == SHAPE and raw.dtype == np.float32  # JAX's default float
    w = raw.astype(np.float64)
    tol = 0.02 * max(stats["std"], 1e-12)
    assert abs(w.mean() - stats["mean"]) < 3 * tol + 1e-7
    assert abs(w.std() - stats["std"]) < tol + 1e-7
    if stats["bound"] is not None:
        low, high = stats["bound"]
        assert w.min() >= low - 1e-6 and w.max() <= high + 1e-6
        if stats["std"] > 0 and name != "Identity":  # the draws reach their bounds
            assert w.min() < low + 0.02 * (high - low) and w.max() > high - 0.02 * (high - low)


def test_truncated_normal_has_no_values_beyond_two_sigma_and_is_not_plain_normal():
    w = initializers.TruncatedNormal(stddev=1.0).sample(np.random.default_rng(1), (100_000,))
    assert np.abs(w).max() <= 2.0 and np.abs(w).max() > 1.99
    assert abs(w.std() - TRUNC) < 0.01  # an untruncated N(0, 1) has std 1


def test_orthogonal_and_identity_structure():
    q = initializers.Orthogonal(gain=2.0).sample(np.random.default_rng(3), (8, 5)).astype(np.float64)
    np.testing.assert_allclose(q.T @ q, 4.0 * np.eye(5), atol=1e-5)
    np.testing.assert_array_equal(initializers.Identity(2.0).sample(None, (2, 3)), [[2, 0, 0], [0, 2, 0]])
    with pytest.raises(ValueError, match="2-D"):
        initializers.Identity().sample(None, (2, 3, 4))
    with pytest.raises(ValueError, match="at least 2 axes"):
        initializers.Orthogonal()((5,))


def test_the_keras_defaults_draw_what_the_layers_always_drew():
    for shape in [(5, 3), (3, 3, 2, 4)]:
        np.testing.assert_array_equal(initializers.GlorotUniform().sample(np.random.default_rng(4), shape),
                                      initializers.glorot_uniform(np.random.default_rng(4), shape))
    np.testing.assert_array_equal(initializers.Orthogonal().sample(np.random.default_rng(4), (4, 12)),
                                  initializers.orthogonal(np.random.default_rng(4), (4, 12)))
    np.testing.assert_array_equal(initializers.RandomUniform().sample(np.random.default_rng(4), (10, 4)),
                                  initializers.uniform(np.random.default_rng(4), (10, 4), -0.05, 0.05))


def test_seeded_initializers_give_the_seed_s_values_and_unseeded_ones_the_generator_s():
    a = initializers.HeNormal(seed=3).sample(np.random.default_rng(0), (4, 4))
    b = initializers.HeNormal(seed=3).sample(np.random.default_rng(99), (4, 4))  # the seed decides, not the rng
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, initializers.HeNormal(seed=4).sample(np.random.default_rng(0), (4, 4)))
    c = initializers.HeNormal().sample(np.random.default_rng(0), (4, 4))
    np.testing.assert_array_equal(c, initializers.HeNormal().sample(np.random.default_rng(0), (4, 4)))
    assert not np.array_equal(c, initializers.HeNormal().sample(np.random.default_rng(1), (4, 4)))


def test_call_is_keras_s_standalone_use(restore_seeds):
    seeded = initializers.RandomNormal(stddev=1.0, seed=11)
    values = seeded((3, 2))
    assert isinstance(values, jax.Array) and values.shape == (3, 2) and values.dtype == jnp.float32
    np.testing.assert_array_equal(values, seeded((3, 2)))  # same seed, same values, call after call
    np.testing.assert_array_equal(values, initializers.RandomNormal(stddev=1.0, seed=11)((3, 2)))
    assert seeded((2,), dtype="float16").dtype == jnp.float16
    unseeded = initializers.GlorotNormal()
    np.testing.assert_array_equal(unseeded((4, 4)), unseeded((4, 4)))
    utils.set_random_seed(5)
    first = initializers.GlorotNormal()((4, 4))
    utils.set_random_seed(5)
    np.testing.assert_array_equal(first, initializers.GlorotNormal()((4, 4)))


def test_initializer_names_get_and_configs():
    for name, cls in initializers.NAMES.items():
        assert type(initializers.get(name)) is cls
        assert type(initializers.get(cls.__name__)) is cls
    for name in ("ones", "zeros", "glorot_uniform", "he_normal", "random_normal", "orthogonal", "truncated_normal"):
        assert name in initializers.NAMES
    init = initializers.VarianceScaling(scale=2.0, mode="fan_avg", distribution="normal", seed=3)
    assert init.distribution == "truncated_normal"  # Keras's alias
    data = initializers.serialize(init)
    assert data == {"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_avg",
                                                                 "distribution": "truncated_normal", "seed": 3}}
    assert initializers.deserialize(data) == init and initializers.get(data) == init
    assert initializers.get(initializers.HeUniform) == initializers.HeUniform()
    custom = initializers.get(lambda shape, dtype=None: np.full(shape, 7.0))
    np.testing.assert_array_equal(custom.sample(None, (2,)), [7.0, 7.0])


@pytest.mark.parametrize("make, message", [
    (lambda: initializers.get("glorot"), r"initializer='glorot' is not known; valid names are"),
    (lambda: initializers.get(3), "must be an initializer name"),
    (lambda: initializers.RandomNormal(stddev=float("inf")), "stddev must be a finite number"),
    (lambda: initializers.RandomUniform(1.0, 0.0), "maxval must be >= minval"),
    (lambda: initializers.VarianceScaling(scale=0), "scale must be a finite number > 0"),
    (lambda: initializers.VarianceScaling(mode="fan"), "mode must be one of"),
    (lambda: initializers.VarianceScaling(distribution="cauchy"), "distribution must be one of"),
    (lambda: initializers.HeNormal(seed=-1), "seed must be None or a non-negative integer"),
    (lambda: initializers.deserialize({"class_name": "os.system", "config": {}}), "unknown initializer class"),
])
def test_bad_initializers_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()
