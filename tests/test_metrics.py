"""physnn.metrics.r2_score: the one R^2 (host NumPy and JAX, inside jit too), and its users."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics import r2_score as sklearn_r2

from physnn.metrics import r2_score


def test_r2_matches_sklearn_on_the_host_and_in_jax():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 3))
    y_hat = y + 0.3 * rng.normal(size=(50, 3))
    expected = 1 - np.sum((y - y_hat) ** 2) / np.sum((y - y.mean(axis=0)) ** 2)
    host = r2_score(y, y_hat)
    assert isinstance(host, float) and host == pytest.approx(expected, rel=1e-12)
    assert r2_score(y[:, 0], y_hat[:, 0]) == pytest.approx(sklearn_r2(y[:, 0], y_hat[:, 0]), rel=1e-12)
    with jax.enable_x64(True):
        assert float(r2_score(jnp.asarray(y), jnp.asarray(y_hat))) == pytest.approx(expected, rel=1e-12)
        assert float(jax.jit(r2_score)(jnp.asarray(y), jnp.asarray(y_hat))) == pytest.approx(expected, rel=1e-12)


def test_r2_of_constant_targets_is_nan():
    assert np.isnan(r2_score(np.ones(4), np.zeros(4)))
    assert np.isnan(float(r2_score(jnp.ones(4), jnp.zeros(4))))
    assert r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0


def test_no_other_r2_formula_in_the_library():
    import pathlib

    import physnn

    root = pathlib.Path(physnn.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "metrics.py" and ("ss_tot" in p.read_text() or "def r2(" in p.read_text())]
    assert offenders == []
