"""An evolution strategy as an optimiser of the one engine: model.compile(optimizer=evolve.OpenES(...)); each
minibatch step of fit is one generation on that batch (a FullBatchOptimizer with full_batch=False), no gradient
used. L-BFGS (full_batch=True) keeps one iteration on the whole set per epoch."""

import numpy as np
import pytest

import physnn
from physnn import evolve
from physnn.layers import Dense, Input


def _data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (128, 2)).astype(np.float32)
    return x, (np.sin(2 * x[:, :1]) + x[:, 1:] ** 2).astype(np.float32)


def _fit(seed):
    x, y = _data()
    model = physnn.Sequential([Input((2,)), Dense(16, activation="tanh"), Dense(1)], seed=0)
    model.compile(optimizer=evolve.OpenES(popsize=64, sigma=0.05, learning_rate=0.03, seed=seed), loss="mse")
    return model, model.fit(x, y, epochs=100, verbose=0).history["loss"]


def test_openai_es_trains_a_model_through_compile_and_fit():
    model, loss = _fit(seed=0)
    # measured after 100 epochs of 4 minibatches (400 generations): 1.53 -> 1.9e-3 (seeds 0-2: <= 3.7e-3)
    assert loss[0] > 1.0 and loss[-1] < 0.05


def _minibatch_fit(seed, batch_size, epochs=1, strategy=None):
    x, y = _data()
    model = physnn.Sequential([Input((2,)), Dense(8, activation="tanh"), Dense(1)], seed=0)
    model.compile(optimizer=strategy or evolve.OpenES(popsize=16, sigma=0.05, learning_rate=0.03, seed=seed),
                  loss="mse")
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0).history["loss"]
    return model, history


@pytest.mark.parametrize("batch_size, batches", [(32, 4), (50, 3), (128, 1)])
def test_each_minibatch_step_is_one_generation(batch_size, batches):
    """128 samples: ceil(128 / batch_size) minibatches (the ragged tail too) = generations after one epoch."""
    model, _ = _minibatch_fit(0, batch_size)
    assert int(model.opt_state.strategy.generation) == batches
    again = model.fit(*_data(), epochs=2, batch_size=batch_size, verbose=0)
    assert len(again.history["loss"]) == 2
    assert int(model.opt_state.strategy.generation) == 3 * batches


def test_minibatch_generations_same_seed_same_numbers():
    a, loss_a = _minibatch_fit(3, 32, epochs=3)
    b, loss_b = _minibatch_fit(3, 32, epochs=3)
    c, loss_c = _minibatch_fit(4, 32, epochs=3)
    assert loss_a == loss_b
    for p, q in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(p, q)
    assert loss_a != loss_c


def test_the_genetic_algorithm_steps_per_minibatch_too():
    model, _ = _minibatch_fit(0, 16, strategy=evolve.SimpleGA(popsize=8, sigma=0.05, seed=0))
    assert int(model.opt_state.strategy.generation) == 8


def test_lbfgs_stays_one_iteration_on_the_whole_set_per_epoch():
    from physnn.training.lbfgs import lbfgs

    assert lbfgs().full_batch and not evolve.OpenES().functional().full_batch
    x, y = _data()
    model = physnn.Sequential([Input((2,)), Dense(8, activation="tanh"), Dense(1)], seed=0)
    model.compile(optimizer="lbfgs", loss="mse")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert int(model.opt_state.step) == 3


def test_strategy_objects_refuse_a_gradient_alone():
    with pytest.raises(ValueError, match="loss function"):
        evolve.OpenES().update_change(np.zeros(3))
