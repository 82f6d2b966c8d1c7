"""physnn.evolve: the five gradient-free strategies on one table (sphere, Rosenbrock, a step function), the
same-seed rule, non-finite fitness, hyperparameter errors, and one CMA-ES generation against NumPy.

Thresholds were measured with seeds 0-4 (popsize 32, float32) and are loosened by >= 3x beyond the worst seed;
the tests run seed 0 (the step function: 60 generations; seed 0 reaches 0 in 14-36, SNES's seed 1 stalls at 1).
Each strategy/objective pair compiles one program (~0.5 s); reruns with another seed hit JAX's cache.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physnn import evolve
from physnn.evolve import strategies as S


def sphere(p):
    return jnp.sum(p["w"] ** 2)


def rosenbrock(x):
    return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def staircase(x):
    """sum_i floor(|x_i|): piecewise constant, zero gradient wherever it is defined; minimum 0 on |x_i| < 1."""
    return jnp.sum(jnp.floor(jnp.abs(x)))


# strategy, options, sphere n=10 after 100 generations (f0 = 10; measured worst of seeds 0-4),
# Rosenbrock n from x0 = 0 (f0 = n - 1) after `generations`, its threshold (measured worst). CMA-ES runs the issue's
# 10-D target f < 1e-8: reached in generations 282-293 at popsize 32 (seeds 0-4; 533-704 at the default 10)
TABLE = [
    ("openai_es", {"sigma": 0.1, "learning_rate": 0.05}, 1e-2, 2, 150, 0.3),   # 1.3e-3; 9.5e-2
    ("snes", {}, 1e-6, 3, 150, 1.0),                                          # 1.4e-7; 0.35
    ("sep_cma_es", {}, 1e-12, 4, 150, 1.2),                                    # 7.4e-15; 0.45
    ("cma_es", {}, 1e-8, 10, 400, 1e-8),                                       # 3.0e-10; 2.1e-12
    ("ga", {"sigma": 0.1}, 0.1, 2, 150, 3e-3),                                 # 2.2e-2; 9.4e-5
]
IDS = [row[0] for row in TABLE]


@pytest.mark.parametrize("name, options, sphere_below, n, generations, rosen_below", TABLE, ids=IDS)
def test_sphere_reaches_threshold_and_same_seed_same_numbers(name, options, sphere_below, n, generations,
                                                              rosen_below):
    x0 = {"w": np.ones(10, np.float32)}
    result = evolve.minimize(sphere, x0, strategy=name, generations=100, popsize=32, seed=0, **options)
    assert result.loss < sphere_below
    assert set(result.params) == {"w"} and result.params["w"].shape == (10,)
    assert float(sphere(result.params)) == pytest.approx(result.loss, rel=1e-5, abs=1e-30)
    best, mean = result.history["best"], result.history["mean"]
    assert isinstance(best, np.ndarray) and best.shape == (100,) and mean.shape == (100,)
    assert np.all(np.isfinite(best)) and best[-1] < 0.1 * best[0]
    assert result.loss == pytest.approx(min(best.min(), mean[-1]))
    again = evolve.minimize(sphere, x0, strategy=name, generations=100, popsize=32, seed=0, **options)
    np.testing.assert_array_equal(again.history["best"], best)
    np.testing.assert_array_equal(again.history["mean"], mean)
    np.testing.assert_array_equal(again.params["w"], result.params["w"])
    other = evolve.minimize(sphere, x0, strategy=name, generations=100, popsize=32, seed=1, **options)
    assert not np.array_equal(other.history["best"], best)


@pytest.mark.parametrize("name, options, sphere_below, n, generations, rosen_below", TABLE, ids=IDS)
def test_rosenbrock_reaches_threshold(name, options, sphere_below, n, generations, rosen_below):
    result = evolve.minimize(rosenbrock, np.zeros(n, np.float32), strategy=name, generations=generations,
                             popsize=32, seed=0, **options)
    assert result.loss < rosen_below < n - 1


def staircase_with_holes(x):
    """``staircase``, NaN where any x_i > 4.5 (about one member in five of the first generations)."""
    return jnp.where(jnp.any(x > 4.5), jnp.nan, staircase(x))


@pytest.mark.parametrize("name", IDS)
def test_step_function_without_gradient_is_minimised_and_nan_never_poisons(name):
    x0 = np.full(10, 3.5, np.float32)
    assert not np.any(np.asarray(jax.grad(staircase)(jnp.asarray(x0))))  # nothing for a gradient method
    options = {"learning_rate": 0.1} if name == "openai_es" else {}
    result = evolve.minimize(staircase_with_holes, x0, strategy=name, generations=60, popsize=32, sigma=0.5,
                             seed=0, **options)
    assert result.history["best"][0] > 0
    assert np.isnan(result.history["best"]).sum() == 0  # best of each generation: finite, or inf if all NaN
    for leaf in jax.tree_util.tree_leaves(result.state):  # NaN members never reach the state
        assert not np.any(np.isnan(np.asarray(leaf)))
    assert result.loss == 0.0


def test_centred_ranks_put_non_finite_fitness_last():
    u = np.asarray(S.centred_ranks(jnp.asarray([3.0, np.nan, 1.0, 2.0, np.inf])))
    np.testing.assert_allclose(u, [0.0, 0.25, -0.5, -0.25, 0.5])


@pytest.mark.parametrize("make, argument", [
    (lambda: evolve.OpenES(popsize=3), "popsize"),
    (lambda: evolve.OpenES(popsize=0), "popsize"),
    (lambda: evolve.OpenES(popsize=True), "popsize"),
    (lambda: evolve.OpenES(sigma=0.0), "sigma"),
    (lambda: evolve.OpenES(sigma=float("nan")), "sigma"),
    (lambda: evolve.OpenES(learning_rate=-1.0), "learning_rate"),
    (lambda: evolve.OpenES(weight_decay=-0.1), "weight_decay"),
    (lambda: evolve.openai_es(4, popsize=5, sigma=0.1), "popsize"),
    (lambda: evolve.SNES(eta_sigma=0.0), "eta_sigma"),
    (lambda: evolve.SNES(sigma=-1.0), "sigma"),
    (lambda: evolve.CMAES(popsize=3), "popsize"),
    (lambda: evolve.SepCMAES(sigma="0.3"), "sigma"),
    (lambda: evolve.SimpleGA(truncation=0), "truncation"),
    (lambda: evolve.SimpleGA(popsize=10, truncation=11), "truncation"),
    (lambda: evolve.SimpleGA(seed=-1), "seed"),
    (lambda: evolve.minimize(sphere, {"w": np.ones(2)}, strategy="adam"), "strategy"),
    (lambda: evolve.minimize(sphere, {"w": np.ones(2)}, generations=0), "generations"),
    (lambda: evolve.minimize(sphere, {"w": np.ones(2)}, popsize=2), "popsize"),
    (lambda: evolve.minimize(sphere, {"w": np.ones(2)}, seed=1.5), "seed"),
    (lambda: evolve.minimize(sphere, {"w": np.ones(2, np.int32)}), "params"),
    (lambda: evolve.minimize(sphere, {}), "params"),
    (lambda: evolve.minimize(sphere, {"w": np.ones(2)}, strategy=evolve.CMAES(), sigma=0.1), "sigma"),
    (lambda: evolve.minimize(lambda p: p["w"], {"w": np.ones(2, np.float32)}, generations=1), "loss_fn"),
])
def test_bad_hyperparameters_raise_value_errors_naming_them(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_classes_by_name_and_strategy_shapes():
    assert {name: type(evolve.get(name)).__name__ for name in evolve.STRATEGIES} == {
        "openai_es": "OpenES", "snes": "SNES", "sep_cma_es": "SepCMAES", "cma_es": "CMAES", "ga": "SimpleGA"}
    assert evolve.CMAES().strategy(10).popsize == 4 + math.floor(3 * math.log(10))
    assert evolve.OpenES(popsize=8) == evolve.OpenES(popsize=8) != evolve.OpenES(popsize=10)
    assert "popsize=8" in repr(evolve.OpenES(popsize=8))


def numpy_cma_generation(m, sigma, C, p_s, p_c, X, f, gen):
    """One generation of Hansen's tutorial (arXiv:1604.00772, Table 1 and eqs. 39-47), positive weights only,
    written out in NumPy independently of physnn."""
    lam, n = X.shape
    mu = lam // 2
    w = np.log((lam + 1) / 2) - np.log(np.arange(1, mu + 1))
    w /= w.sum()
    mueff = w.sum() ** 2 / (w ** 2).sum()
    cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n)
    cs = (mueff + 2) / (n + mueff + 5)
    c1 = 2 / ((n + 1.3) ** 2 + mueff)
    cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
    ds = 1 + 2 * max(0, np.sqrt((mueff - 1) / (n + 1)) - 1) + cs
    chi = np.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n ** 2))
    Y = (X[np.argsort(f)[:mu]] - m) / sigma
    yw = w @ Y
    m_new = m + sigma * yw
    evals, B = np.linalg.eigh(C)
    C_inv_sqrt = B @ np.diag(evals ** -0.5) @ B.T
    p_s = (1 - cs) * p_s + np.sqrt(cs * (2 - cs) * mueff) * C_inv_sqrt @ yw
    h = float(np.linalg.norm(p_s) / np.sqrt(1 - (1 - cs) ** (2 * (gen + 1))) < (1.4 + 2 / (n + 1)) * chi)
    p_c = (1 - cc) * p_c + h * np.sqrt(cc * (2 - cc) * mueff) * yw
    C = ((1 + c1 * (1 - h) * cc * (2 - cc) - c1 - cmu) * C + c1 * np.outer(p_c, p_c)
         + cmu * sum(wi * np.outer(y, y) for wi, y in zip(w, Y)))
    sigma = sigma * np.exp(cs / ds * (np.linalg.norm(p_s) / chi - 1))
    return m_new, sigma, C, p_s, p_c


def test_cma_es_generation_matches_numpy_reference_in_float64():
    rng = np.random.default_rng(0)
    n, lam = 4, 8
    with jax.enable_x64(True):
        strategy = S.cma_es(n, lam, sigma=0.5)
        # a non-trivial state (NumPy, no eager programs): a random covariance and evolution paths, as after
        # some generations
        m0 = rng.normal(size=n)
        A = rng.normal(size=(n, n))
        C0 = A @ A.T + n * np.eye(n)
        evals, B = np.linalg.eigh(C0)
        p_s0, p_c0 = rng.normal(size=n), rng.normal(size=n)
        state = S.CMAState(m0, np.float64(0.5), C0, B, np.sqrt(evals), p_s0, p_c0, m0, np.float64(np.inf),
                           np.int32(3))
        X = m0[None, :] + 0.5 * rng.normal(size=(lam, n))
        population = X
        f = np.sum(X ** 2, axis=1)
        new = jax.jit(strategy.tell)(state, population, f)
        m, sigma, C, p_s, p_c = numpy_cma_generation(m0, 0.5, C0, p_s0, p_c0, X, f, 3)
        for got, want in [(new.mean, m), (new.sigma, sigma), (new.C, C), (new.p_sigma, p_s), (new.p_c, p_c)]:
            assert np.asarray(got).dtype == np.float64
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.asarray(new.B) @ np.diag(np.asarray(new.D) ** 2) @ np.asarray(new.B).T, C,
                                   rtol=1e-10, atol=1e-12)
