"""The 2-D Ising sampler against exact results: full enumeration of the 4 x 4 lattice, and Onsager's
infinite-lattice magnetisation and energy at L = 32."""

import itertools

import numpy as np
import pytest

from physnn import datasets
from physnn.datasets import T_CRITICAL, onsager_energy, onsager_magnetization


def _exact_4x4(T):
    """<|m|> and <u> per spin of the periodic 4 x 4 lattice by summing all 2^16 states."""
    s = np.array(list(itertools.product([-1, 1], repeat=16)), np.float64).reshape(-1, 4, 4)
    u = -np.mean(s * (np.roll(s, -1, 1) + np.roll(s, -1, 2)), axis=(1, 2))
    w = np.exp(-16 * u / T)
    w /= w.sum()
    return np.sum(w * np.abs(s.mean(axis=(1, 2)))), np.sum(w * u)


@pytest.mark.parametrize("T", [1.5, 2.5, 4.0])
def test_small_lattice_equals_exact_enumeration(T):
    data = datasets.ising(4, [T], 4096, seed=1, chains=512, equilibration=50, spacing=10)
    abs_m, u = _exact_4x4(T)
    n = data.energy.size
    # samples 10 sweeps apart on a 4 x 4 lattice are effectively independent: 4 standard errors
    assert abs(np.mean(np.abs(data.magnetization)) - abs_m) < 4 * np.std(np.abs(data.magnetization)) / np.sqrt(n)
    assert abs(np.mean(data.energy) - u) < 4 * np.std(data.energy) / np.sqrt(n)


def test_onsager_magnetisation_and_energy_at_L32():
    T = np.array([1.5, 1.8, 2.0, 2.1, 3.0, 3.5])
    data = datasets.ising(32, T, 32, seed=0, chains=16, equilibration=1000, spacing=64)
    abs_m = np.abs(data.magnetization).reshape(T.size, -1).mean(axis=1)
    u = data.energy.reshape(T.size, -1).mean(axis=1)
    below = T < T_CRITICAL
    # below T_c the finite-size shift of <|m|> at L = 32 is < 0.005 this far from T_c
    np.testing.assert_allclose(abs_m[below], onsager_magnetization(T[below]), atol=0.01)
    assert np.all(abs_m[~below] < 0.12)  # ~ L^-1 fluctuations of the disordered phase
    np.testing.assert_allclose(u, onsager_energy(T), atol=0.015)


def test_onsager_formulas():
    assert T_CRITICAL == pytest.approx(2.269185314213022)
    assert onsager_magnetization(2.0) == pytest.approx(0.911319377877496)
    assert onsager_magnetization(3.0) == 0.0
    assert onsager_energy(T_CRITICAL) == pytest.approx(-np.sqrt(2.0), rel=1e-6)  # u(T_c) = -sqrt 2
    assert onsager_energy(0.5) == pytest.approx(-2.0, abs=1e-6)  # the ground state


def test_structure_symmetry_and_seed():
    data = datasets.ising(8, [1.0, 5.0], 64, seed=3, chains=16, equilibration=100, spacing=5)
    assert data.spins.shape == (128, 8, 8) and data.spins.dtype == np.int8
    assert set(np.unique(data.spins)) == {-1, 1}
    np.testing.assert_array_equal(data.temperature, np.repeat([1.0, 5.0], 64))
    np.testing.assert_allclose(data.magnetization, data.spins.mean(axis=(1, 2)), atol=1e-6)
    s = data.spins.astype(float)
    np.testing.assert_allclose(data.energy, -np.mean(s * (np.roll(s, -1, 1) + np.roll(s, -1, 2)), axis=(1, 2)),
                               atol=1e-6)
    cold = data.magnetization[:64]
    assert 0 < np.sum(cold > 0) < 64  # both ordered states, from the random global sign
    again = datasets.ising(8, [1.0, 5.0], 64, seed=3, chains=16, equilibration=100, spacing=5)
    np.testing.assert_array_equal(again.spins, data.spins)
    other = datasets.ising(8, [1.0, 5.0], 64, seed=4, chains=16, equilibration=100, spacing=5)
    assert not np.array_equal(other.spins, data.spins)


@pytest.mark.parametrize("kwargs, name", [
    ({"L": 7}, "L must be even"),
    ({"L": 2}, "L must be"),
    ({"temperatures": [1.0, -2.0]}, "temperatures"),
    ({"temperatures": []}, "temperatures"),
    ({"samples_per_temperature": 10, "chains": 4}, "multiple of chains"),
    ({"spacing": 0}, "spacing"),
    ({"seed": -1}, "seed"),
])
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        datasets.ising(**{"L": 8, "temperatures": [2.0], "samples_per_temperature": 8, **kwargs})
