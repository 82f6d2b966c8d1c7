"""Host-side initial values: the distributions Keras uses, reproducible from the seed."""

import jax
import numpy as np
import pytest

from physnn import initializers


def test_fans_count_the_receptive_field():
    assert initializers.fans((300, 200)) == (300, 200)
    assert initializers.fans((3, 3, 4, 16)) == (36, 144)
    with pytest.raises(ValueError, match="at least 2 axes"):
        initializers.fans((5,))


def test_glorot_uniform_range_and_spread():
    w = initializers.glorot_uniform(np.random.default_rng(0), (300, 200))
    limit = np.sqrt(6 / 500)
    assert w.dtype == np.float32 and np.abs(w).max() <= limit
    assert abs(w.std() - limit / np.sqrt(3)) < 0.01 * limit  # U(-a, a) has std a / sqrt(3)


def test_lecun_normal_spread():
    w = initializers.lecun_normal(np.random.default_rng(1), (400, 300))
    assert abs(w.std() * np.sqrt(400) - 1) < 0.01 and abs(w.mean()) < 1e-3


@pytest.mark.parametrize("shape", [(8, 32), (32, 8), (6, 6)])
def test_orthogonal_has_orthonormal_rows_or_columns(shape):
    q = initializers.orthogonal(np.random.default_rng(2), shape).astype(np.float64)
    small = min(shape)
    gram = q @ q.T if shape[0] <= shape[1] else q.T @ q
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-6)


def test_same_generator_seed_same_values_and_x64_dtype():
    a = initializers.glorot_uniform(np.random.default_rng(5), (4, 3))
    b = initializers.glorot_uniform(np.random.default_rng(5), (4, 3))
    np.testing.assert_array_equal(a, b)
    with jax.enable_x64(True):
        assert initializers.zeros((2,)).dtype == np.float64
