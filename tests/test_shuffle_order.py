"""The epoch's shuffle (``physnn.training.epoch.shuffle_order``): a permutation, a function of (seed, epoch)
only, uniform over the permutations to chi-squared accuracy, independent between epochs and seeds, equal under
``vmap``."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physnn.training.epoch import shuffle_order


@pytest.mark.parametrize("n", [1, 2, 7, 1437, 100_003])
def test_shuffle_order_is_a_permutation(n):
    order = np.asarray(shuffle_order(np.uint32(3), 5, n))
    assert order.dtype == np.int32
    np.testing.assert_array_equal(np.sort(order), np.arange(n))


def test_shuffle_order_depends_on_seed_and_epoch_only():
    base = np.asarray(shuffle_order(np.uint32(0), 0, 500))
    np.testing.assert_array_equal(base, np.asarray(shuffle_order(np.uint32(0), 0, 500)))
    others = [shuffle_order(np.uint32(1), 0, 500), shuffle_order(np.uint32(0), 1, 500),
              shuffle_order(np.uint32(2**32 - 1), 0, 500)]
    for other in others:
        assert np.mean(np.asarray(other) == base) < 0.02  # (a random pair agrees in 1/500 of the places)


def test_shuffle_order_draws_every_permutation_equally_often():
    draws = jax.vmap(lambda s, e: shuffle_order(s, e, 5))(
        jnp.repeat(jnp.arange(40, dtype=jnp.uint32), 300), jnp.tile(jnp.arange(300), 40))
    index = {p: i for i, p in enumerate(itertools.permutations(range(5)))}
    counts = np.bincount([index[tuple(row)] for row in np.asarray(draws).tolist()], minlength=120)
    expected = len(draws) / 120
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 < 180, chi2  # 119 degrees of freedom: P(chi2 > 180) ~ 2e-4 for a uniform draw


def test_successive_epochs_are_uncorrelated():
    orders = np.asarray(jax.vmap(lambda e: shuffle_order(np.uint32(7), e, 2000))(jnp.arange(20)))
    for a, b in zip(orders[:-1], orders[1:]):
        rank_a, rank_b = np.argsort(a), np.argsort(b)  # where each sample sits in the two epochs
        assert abs(np.corrcoef(rank_a, rank_b)[0, 1]) < 0.1  # (sd of a random pair: 1/sqrt(2000) = 0.022)


def test_vmapped_seeds_give_each_seed_s_order():
    seeds = jnp.asarray([0, 1, 12345], jnp.uint32)
    together = np.asarray(jax.vmap(lambda s: shuffle_order(s, 4, 99))(seeds))
    for row, s in zip(together, seeds):
        np.testing.assert_array_equal(row, np.asarray(shuffle_order(s, 4, 99)))
