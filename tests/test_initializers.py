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


def test_glorot_normal_and_normal_spread():
    w = initializers.glorot_normal(np.random.default_rng(3), (300, 200))
    assert w.dtype == np.float32 and abs(w.std() * np.sqrt(500 / 2) - 1) < 0.01 and abs(w.mean()) < 1e-3
    v = initializers.normal(np.random.default_rng(3), (300, 200), 0.25)
    np.testing.assert_allclose(v, 0.25 * np.random.default_rng(3).standard_normal((300, 200)), rtol=1e-6)


def test_generator_from_a_seed_or_a_key_is_deterministic():
    assert initializers.generator(7).random() == np.random.default_rng(7).random()
    key = jax.random.PRNGKey(7)
    assert initializers.generator(key).random() == initializers.generator(jax.random.PRNGKey(7)).random()
    assert initializers.generator(key).random() == np.random.default_rng([0, 7]).random()
    assert initializers.generator(jax.random.key(7)).random() == initializers.generator(key).random()
    rng = np.random.default_rng(1)
    assert initializers.generator(rng) is rng
    for bad in (-1, True, 2.5, "0"):
        with pytest.raises(ValueError, match="seed must be"):
            initializers.generator(bad)


def test_physics_mlp_and_bptt_draw_from_the_initializers():
    """mlp_init and bptt.init_params are physnn.initializers draws: same values from the same generator."""
    from physnn import bptt
    from physnn.physics import mlp_init

    params = mlp_init(3, (2, 4, 1))
    rng = np.random.default_rng(3)
    for layer, shape in zip(params, [(2, 4), (4, 1)]):
        np.testing.assert_array_equal(np.asarray(layer["W"]), initializers.glorot_normal(rng, shape))
        assert not np.any(np.asarray(layer["b"]))
    np.testing.assert_array_equal(np.asarray(mlp_init(jax.random.PRNGKey(3), (2, 4, 1))[0]["W"]),
                                  initializers.glorot_normal(initializers.generator(jax.random.PRNGKey(3)), (2, 4)))
    rnn = bptt.init_params(5, n_in=3, n_hidden=4, n_out=2, scale=0.5)
    np.testing.assert_array_equal(np.asarray(rnn["U"]),
                                  initializers.normal(np.random.default_rng(5), (4, 3), 0.5 / np.sqrt(3)))


# Modules whose jax.random draws are part of a compiled computation, not initial values: training noise and
# the reparameterised sample (drawn from the step's key), the evolution strategies' populations.
RANDOM_IN_THE_PROGRAM = {"layers/noise.py", "generative/vae.py", "generative/gan.py", "evolve/strategies.py"}


def test_no_jax_random_initialiser_left_in_the_library():
    """Initial values come from physnn.initializers only (a jax.random draw compiles a program)."""
    import pathlib

    import physnn

    root = pathlib.Path(physnn.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "initializers.py" and str(p.relative_to(root)) not in RANDOM_IN_THE_PROGRAM
                 and ("jax.random.normal(" in p.read_text() or "jax.random.uniform(" in p.read_text())]
    assert offenders == []
    for name in RANDOM_IN_THE_PROGRAM:  # and none of those draws an initial value
        assert "def init(" not in (root / name).read_text() or "jax.random" not in _init_body(root / name)


def _init_body(path) -> str:
    text = path.read_text()
    start = text.index("def init(")
    end = text.find("\n    def ", start + 1)
    return text[start:end if end > 0 else None]
