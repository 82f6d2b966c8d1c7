import math
import warnings

import numpy as np
import pytest

from physnn import datasets
from physnn.datasets import DataDefectWarning

# ------------------------------------------------------------------------------------- shipped files


def test_eos_shape_and_first_last_values():
    density, energy = datasets.eos()
    assert density.shape == energy.shape == (90,)
    assert density.dtype == energy.dtype == np.float64
    assert density[0] == 3.3773726001100143e-05 and energy[0] == 3.1715032621225665e-02
    assert density[-1] == 2.10543995293974895 and energy[-1] == 2980.03336671234320
    assert np.all(np.diff(density) > 0)


def test_vary_dimension_values():
    x, energy = datasets.vary_dimension()
    np.testing.assert_array_equal(x, np.arange(2, 41, 2))
    assert energy.shape == (20,)
    assert energy[0] == -0.03077640549 and energy[5] == -0.3581341341 and energy[-1] == -1.70653767


def test_rbm_energy_raw_is_unchanged_and_warns_every_defect():
    with pytest.warns(DataDefectWarning) as record:
        iteration, energy = datasets.rbm_energy()
    message = str(record[0].message)
    assert "label 33 missing" in message
    assert "0.04819" in message and "label 93" in message
    assert "1001" in message and "implies 101" in message
    assert iteration.shape == energy.shape == (100,)
    assert iteration[0] == 1 and energy[0] == 5.59097
    assert 33 not in iteration and iteration[-1] == 1001 and energy[-1] == 3.03374
    assert energy[iteration == 93][0] == 0.04819  # the suspicious value is returned as it stands


def test_rbm_energy_clean_fixes_labels_drops_outlier_and_says_so():
    with pytest.warns(
        DataDefectWarning, match=r"clean=True: relabelled line 100: 1001 -> 101; dropped line 92"
    ):
        iteration, energy = datasets.rbm_energy(clean=True)
    assert iteration.shape == energy.shape == (99,)
    assert iteration[-1] == 101 and energy[-1] == 3.03374
    assert 93 not in iteration and 33 not in iteration  # missing rows stay missing, not invented
    assert np.all(np.diff(iteration) >= 1)
    assert energy.min() > 3.0  # the lost-digit value is gone
    relative_steps = np.abs(np.diff(energy)) / energy[1:]
    assert relative_steps.max() < 0.1


def test_series_defects_rules():
    assert datasets.series_defects([1, 2, 3, 4], [1.0, 1.1, 1.2, 1.3]) == []
    found = datasets.series_defects([1, 2, 5, 6, 500, 8], [1.0, 1.1, 1.2, 12.0, 1.3, 1.3])
    kinds = [(d.kind, d.label) for d in found]
    assert kinds == [("missing_labels", 5), ("value_jump", 6), ("label_out_of_sequence", 500)]
    assert found[0].expected == (3, 4)
    assert found[2].expected == (7,)
    with pytest.raises(ValueError, match="integer-valued"):
        datasets.series_defects([1.5, 2.5], [1.0, 1.0])


@pytest.mark.parametrize(
    "n, size, first, last, hf",
    [
        (
            2,
            177,
            (3.8718410926477924, 0.0000147059038380),
            (2.9999434766407251, 0.0000000122985347),
            3.161921401722216,
        ),
        (
            6,
            164,
            (26.3997295427311869, 0.0000432234318622),
            (20.5942250212876736, 0.0000045392646495),
            20.71924844033019,
        ),
    ],
)
def test_quantum_dot_energies(n, size, first, last, hf):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # these files have no defect: no warning
        data = datasets.quantum_dot_energies(n)
    assert data.energy.shape == data.variance.shape == data.stderr.shape == (size,)
    assert (data.energy[0], data.variance[0]) == first
    assert (data.energy[-1], data.variance[-1]) == last
    np.testing.assert_allclose(data.stderr, np.sqrt(data.variance), rtol=0)
    assert data.hartree_fock == hf
    assert data.energy[-1] < hf  # the variational result improves on Hartree-Fock


@pytest.mark.parametrize("bad", [3, 0, True, "2"])
def test_quantum_dot_energies_rejects_other_n(bad):
    with pytest.raises(ValueError, match="n_electrons must be 2 or 6"):
        datasets.quantum_dot_energies(bad)


# -------------------------------------------------------------------------------- damped oscillator


def test_rk4_matches_undamped_analytic_solution():
    o = datasets.damped_oscillator(eta=0.0, dt=0.01, n=1001, x0=1.0, v0=0.0, method="rk4")
    assert o.t.shape == o.x.shape == o.v.shape == o.F.shape == (1001,)
    assert o.x.dtype == np.float64
    np.testing.assert_allclose(o.t[-1], 10.0)
    np.testing.assert_allclose(o.x, np.cos(o.t), rtol=0, atol=1e-8)
    np.testing.assert_allclose(o.v, -np.sin(o.t), rtol=0, atol=1e-8)
    assert np.all(o.F == 0)


def test_rk4_matches_damped_analytic_solution_and_is_fourth_order():
    eta, x0, v0 = 0.2, 1.0, 0.5
    wd = math.sqrt(1 - eta**2 / 4)

    def exact(t):
        # x = e^{-eta t/2} (A cos wd t + B sin wd t), A = x0, B = (v0 + eta x0 / 2) / wd
        return np.exp(-eta * t / 2) * (x0 * np.cos(wd * t) + (v0 + eta * x0 / 2) / wd * np.sin(wd * t))

    errors = []
    for dt, n in ((0.02, 501), (0.01, 1001)):
        o = datasets.damped_oscillator(eta=eta, dt=dt, n=n, x0=x0, v0=v0, method="rk4")
        errors.append(np.abs(o.x - exact(o.t)).max())
    assert errors[1] < 1e-9
    assert 12 < errors[0] / errors[1] < 20  # halving dt divides the error by 2^4


def test_rk4_forced_oscillator_matches_analytic_and_force_forms_agree():
    A, w, x0 = 0.5, 2.0, 1.0
    # x'' + x = A cos(w t), x(0) = x0, v(0) = 0:  x = (x0 - A/(1-w^2)) cos t + A/(1-w^2) cos w t
    o = datasets.damped_oscillator(eta=0.0, force=A, omega=w, dt=0.01, n=1001, x0=x0, method="rk4")
    k = A / (1 - w**2)
    np.testing.assert_allclose(o.x, (x0 - k) * np.cos(o.t) + k * np.cos(w * o.t), rtol=0, atol=1e-8)
    np.testing.assert_allclose(o.F, A * np.cos(w * o.t), rtol=0, atol=1e-15)
    vectorised = datasets.damped_oscillator(
        eta=0.0, force=lambda t: A * np.cos(w * t), dt=0.01, n=1001, x0=x0, method="rk4"
    )
    scalar_only = datasets.damped_oscillator(
        eta=0.0, force=lambda t: A * math.cos(w * t), dt=0.01, n=1001, x0=x0, method="rk4"
    )
    np.testing.assert_allclose(vectorised.x, o.x, rtol=0, atol=1e-14)
    np.testing.assert_allclose(scalar_only.x, o.x, rtol=0, atol=1e-14)


def test_euler_is_the_lecture_recurrence():
    eta, dt, n = 0.3, 0.1, 8

    def F(t):
        return np.sin(2 * t)

    o = datasets.damped_oscillator(eta=eta, force=F, dt=dt, n=n, x0=1.0, v0=-0.5, method="euler")
    x, v = [1.0], [-0.5]
    for i in range(n - 1):
        v.append(v[i] + dt * (F(i * dt) - eta * v[i] - x[i]))
        x.append(x[i] + dt * v[i])  # the OLD velocity, as in the course's ForwardEuler
    np.testing.assert_allclose(o.x, x, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(o.v, v, rtol=1e-14, atol=1e-15)
    # Euler-Cromer (x_{i+1} = x_i + dt v_{i+1}) gives a different x_1: the ordering is really the lecture's
    assert abs(o.x[1] - (1.0 + dt * v[1])) > 1e-3


def test_euler_gains_energy_exactly_as_predicted():
    # undamped forward Euler: (x, v) -> (x + dt v, v - dt x) multiplies x^2 + v^2 by (1 + dt^2) per step
    dt, n = 0.05, 200
    o = datasets.damped_oscillator(eta=0.0, dt=dt, n=n, method="euler")
    energy = o.x**2 + o.v**2
    np.testing.assert_allclose(energy, (1 + dt**2) ** np.arange(n), rtol=1e-12)


def test_oscillator_long_run_is_fast_and_finite():
    o = datasets.damped_oscillator(eta=0.1, force=0.3, dt=0.01, n=100_000, method="rk4")
    assert o.x.shape == (100_000,) and np.isfinite(o.x).all()
    # the driven steady state at resonance has amplitude A / eta
    assert abs(np.abs(o.x[-2000:]).max() - 0.3 / 0.1) < 1e-3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "leapfrog"}, "method must be 'euler' or 'rk4'"),
        ({"dt": 0.0}, "dt must be > 0"),
        ({"n": 1}, "n must be an integer >= 2"),
        ({"n": 10.5}, "n must be an integer"),
        ({"eta": -0.1}, "eta must be >= 0"),
        ({"force": "sin"}, "force must be None, a float amplitude or a callable"),
        ({"force": lambda t: np.zeros(3)}, "force\\(t\\) must return shape"),
        ({"force": lambda t: np.full_like(t, np.nan)}, "non-finite"),
        ({"x0": float("inf")}, "x0 must be a finite real number"),
    ],
)
def test_oscillator_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.damped_oscillator(**{"n": 10, **kwargs})


# ------------------------------------------------------------------------------------- small sets


def test_logic_gates():
    X, targets = datasets.logic_gates()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(targets["XOR"], [[0], [1], [1], [0]])
    np.testing.assert_array_equal(targets["AND"], [[0], [0], [0], [1]])
    np.testing.assert_array_equal(targets["OR"], [[0], [1], [1], [1]])
    assert all(t.shape == (4, 1) and t.dtype == np.float64 for t in targets.values())


def test_projectile_noise_free_and_seeded_noise():
    t, x = datasets.projectile(v0=10.0, g=9.81, n=41)
    np.testing.assert_allclose(x, 10.0 * t - 0.5 * 9.81 * t**2, rtol=0, atol=1e-12)
    assert t[0] == 0 and abs(t[-1] - 2 * 10.0 / 9.81) < 1e-12 and abs(x[-1]) < 1e-12
    _, a = datasets.projectile(n=2000, noise=0.5, seed=3)
    _, b = datasets.projectile(n=2000, noise=0.5, seed=3)
    _, c = datasets.projectile(n=2000, noise=0.5, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    t, clean = datasets.projectile(n=2000)
    assert abs(np.std(a - clean) - 0.5) < 0.03


def test_infinite_well_normalised_with_nodes():
    for n_state in (1, 3):
        x, psi = datasets.infinite_well(n_state=n_state, L=2.0, n_points=2001)
        density = psi**2
        assert abs(np.sum(0.5 * (density[1:] + density[:-1]) * np.diff(x)) - 1.0) < 1e-6  # trapezoid rule
        assert abs(psi[0]) < 1e-12 and abs(psi[-1]) < 1e-12
        assert np.sum(np.diff(np.sign(psi[1:-1])) != 0) == n_state - 1  # n - 1 interior nodes
    _, noisy = datasets.infinite_well(noise=0.1, seed=1)
    _, again = datasets.infinite_well(noise=0.1, seed=1)
    np.testing.assert_array_equal(noisy, again)


def test_spring_conserves_energy():
    t, x, v = datasets.spring(k=4.0, m=1.0, x0=0.5, n=300)
    np.testing.assert_allclose(0.5 * 4.0 * x**2 + 0.5 * 1.0 * v**2, 0.5 * 4.0 * 0.5**2, rtol=1e-12)
    np.testing.assert_allclose(x, 0.5 * np.cos(2.0 * t), rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: datasets.projectile(g=0.0), "g must be > 0"),
        (lambda: datasets.projectile(v0=-1.0), "v0 must be > 0 when t_max"),
        (lambda: datasets.projectile(noise=-1.0), "noise must be >= 0"),
        (lambda: datasets.projectile(seed=-1), "seed must be a non-negative integer"),
        (lambda: datasets.projectile(seed=1.5), "seed must be a non-negative integer"),
        (lambda: datasets.infinite_well(n_state=0), "n_state must be an integer >= 1"),
        (lambda: datasets.infinite_well(L=-2.0), "L must be > 0"),
        (lambda: datasets.infinite_well(n_points=1), "n_points must be an integer >= 2"),
        (lambda: datasets.spring(k=0.0), "k must be > 0"),
        (lambda: datasets.spring(m=-1.0), "m must be > 0"),
        (lambda: datasets.spring(n=True), "n must be an integer"),
    ],
)
def test_generators_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
