"""evolve.maximize: minimize of -reward (one implementation), its history and reward with the reward's sign."""

import jax.numpy as jnp
import numpy as np
import pytest

from physnn import evolve


def reward(p):
    """A concave bowl with its maximum 3 at w = (1, -2, 0.5)."""
    return 3.0 - jnp.sum((p["w"] - jnp.asarray([1.0, -2.0, 0.5])) ** 2)


def loss(p):
    return -reward(p)


X0 = {"w": np.zeros(3, np.float32)}


@pytest.mark.parametrize("strategy", ["cma_es", "openai_es", "ga"])
def test_maximize_is_minimize_of_the_negated_reward(strategy):
    options = {"learning_rate": 0.1} if strategy == "openai_es" else {}
    up = evolve.maximize(reward, X0, strategy=strategy, generations=60, popsize=16, sigma=0.3, seed=3, **options)
    down = evolve.minimize(loss, X0, strategy=strategy, generations=60, popsize=16, sigma=0.3, seed=3, **options)
    np.testing.assert_allclose(up.history["best"], -down.history["best"], rtol=1e-6)
    np.testing.assert_allclose(up.history["mean"], -down.history["mean"], rtol=1e-6)
    np.testing.assert_allclose(up.params["w"], down.params["w"], rtol=1e-6)
    assert up.reward == pytest.approx(-down.loss, rel=1e-6)


def test_rewards_have_their_own_sign_and_rise():
    result = evolve.maximize(reward, X0, generations=80, popsize=16, sigma=0.5, seed=0)
    assert isinstance(result, evolve.RewardResult)
    best, mean = result.history["best"], result.history["mean"]
    assert best.shape == (80,) and mean.shape == (80,)
    assert best[0] < 2.9 < 2.999 < best[-1] <= 3.0  # reward at x0 is 3 - 5.25 = -2.25; the maximum is 3
    assert result.reward == pytest.approx(max(best.max(), mean[-1]))
    assert result.reward == pytest.approx(float(reward(result.params)), rel=1e-5)
    np.testing.assert_allclose(result.params["w"], [1.0, -2.0, 0.5], atol=1e-3)


def test_same_seed_same_numbers_other_seed_other_numbers():
    runs = [evolve.maximize(reward, X0, generations=30, popsize=16, seed=s) for s in (5, 5, 6)]
    np.testing.assert_array_equal(runs[0].history["best"], runs[1].history["best"])
    np.testing.assert_array_equal(runs[0].params["w"], runs[1].params["w"])
    assert not np.array_equal(runs[0].history["best"], runs[2].history["best"])


def test_nan_reward_ranks_last():
    def holes(p):
        return jnp.where(p["w"][0] > 0.5, jnp.nan, reward(p))

    result = evolve.maximize(holes, X0, generations=60, popsize=16, sigma=0.5, seed=0)
    assert np.all(np.isfinite(result.history["best"]))
    assert result.params["w"][0] <= 0.5 and result.reward > 2.5  # the constrained maximum 2.75 at w0 = 0.5


@pytest.mark.parametrize("make, argument", [
    (lambda: evolve.maximize("reward", X0), "reward_fn"),
    (lambda: evolve.maximize(lambda p: p["w"], X0, generations=1), "reward_fn"),
    (lambda: evolve.maximize(reward, X0, generations=0), "generations"),
    (lambda: evolve.maximize(reward, X0, strategy="hill_climb"), "strategy"),
    (lambda: evolve.maximize(reward, X0, sigma=-1.0), "sigma"),
    (lambda: evolve.maximize(reward, X0, seed=-2), "seed"),
])
def test_bad_arguments_raise_value_errors_naming_them(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_same_reward_function_reuses_the_compiled_search_and_objects_pass_through():
    from physnn.evolve import api

    evolve.maximize(reward, X0, generations=7, popsize=8, seed=0)
    size = api._run.jitted._cache_size()
    evolve.maximize(reward, X0, generations=7, popsize=8, seed=1)  # a new seed is data: no new program
    assert api._run.jitted._cache_size() == size
    result = evolve.maximize(reward, X0, strategy=evolve.SimpleGA(popsize=16, sigma=0.3, seed=2), generations=40)
    assert result.reward == pytest.approx(float(reward(result.params)), rel=1e-5)
    assert result.reward >= -float(result.state.best_f)  # the best member ever, or the final elite if better
    with pytest.raises(ValueError, match="popsize"):
        evolve.maximize(reward, X0, strategy=evolve.SimpleGA(), popsize=8)
