"""Strict JAX for the whole suite (equinox's habit): implicit rank promotion is an error.

``x @ W + b`` with ``b`` of shape [n] and ``x`` [batch, n] broadcasts silently in NumPy; under
``jax_numpy_rank_promotion="raise"`` it raises, so library code must broadcast explicitly
(``b[None, :]``, ``jnp.expand_dims``). A slip such as adding [n] to [n, 1] (which makes [n, n]) is then caught.
"""

import jax

jax.config.update("jax_numpy_rank_promotion", "raise")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _default_model_seed():
    """``physnn.utils.set_random_seed`` changes the default seed of models made afterwards (as Keras's does):
    each test starts from the default, 0, whatever a test before it set."""
    import physnn.utils

    yield
    physnn.utils.set_random_seed(0)
