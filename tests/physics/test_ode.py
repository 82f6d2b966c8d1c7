"""Trial-solution ODE solver: the lecture problems, a damped oscillator, a system, a large domain, bad input."""

import warnings

import jax.numpy as jnp
import numpy as np
import pytest

# the experiments' equations: the same function objects and settings reuse the compiled solver
from physnn.experiments.physics import LECTURE_PROBLEMS, damped_exact, rhs_damped, rhs_poly
from physnn.physics.ode import ODESolution, solve_ode

X = np.linspace(0.0, 2.0, 2001)


@pytest.mark.parametrize("name, args, exact", LECTURE_PROBLEMS, ids=["2x", "x^2", "x^2-2x"])
def test_lecture_problems_on_0_2(name, args, exact):
    # u' = a x^2 + b x with args = (a, b): one compiled solver for the three problems
    sol = solve_ode(rhs_poly, 1.0, (0.0, 2.0), args=args)
    assert isinstance(sol, ODESolution) and sol.converged
    assert np.max(np.abs(sol(X) - exact(X))) <= 1e-3
    assert sol(0.0) == pytest.approx(1.0, abs=1e-12)  # the trial solution satisfies u(0) = 1 exactly
    np.testing.assert_allclose(sol.derivative(X), rhs_poly(X, None, *args), atol=5e-3)
    assert sol.residual_history.shape == (sol.adam_steps + sol.polish_steps,)
    assert sol.residual_history[-1] < 1e-2 * sol.residual_history[0]


def test_damped_oscillator_matches_the_analytic_solution():
    T = 10.0  # x'' + 0.2 x' + x = 0, x(0) = 1, x'(0) = 0
    sol = solve_ode(rhs_damped, (1.0, 0.0), (0.0, T))
    assert sol.order == 2 and sol.converged
    t = np.linspace(0, T, 1001)
    w = np.sqrt(1 - 0.2**2 / 4)
    exact = np.exp(-0.1 * t) * (np.cos(w * t) + 0.1 / w * np.sin(w * t))
    np.testing.assert_allclose(damped_exact(t), exact, atol=1e-12)
    assert np.max(np.abs(sol(t) - exact)) < 2e-3
    assert abs(sol.derivative(0.0)) < 1e-12  # u'(0) = 0 exactly


def test_system_of_two_first_order_equations():
    sol = solve_ode(lambda x, u: jnp.stack([u[1], -u[0]]), [0.0, 1.0], (0.0, 2 * np.pi))
    x = np.linspace(0, 2 * np.pi, 501)
    assert sol(x).shape == (501, 2)
    assert np.max(np.abs(sol(x) - np.stack([np.sin(x), np.cos(x)], -1))) < 5e-3


def test_large_domain_trains_thanks_to_rescaling():
    sol = solve_ode(lambda x, u: -u / 10, 1.0, (0.0, 50.0))
    x = np.linspace(0, 50, 1001)
    assert np.max(np.abs(sol(x) - np.exp(-x / 10))) < 1e-3


def test_finite_difference_derivatives_agree_with_autodiff():
    sol = solve_ode(rhs_poly, 1.0, (0.0, 2.0), args=(0.0, 2.0), derivative="finite_difference", h=1e-4)
    assert np.max(np.abs(sol(X) - (1 + X**2))) <= 1e-3


def test_not_converged_warns_with_the_final_residual():
    with pytest.warns(RuntimeWarning, match=r"did not converge: final RMS residual \d\.\d+e[+-]\d+ >= tol 1\.0e-09"):
        sol = solve_ode(rhs_poly, 1.0, (0.0, 2.0), args=(0.0, 2.0), tol=1e-9)  # a tolerance beyond reach
    assert not sol.converged and sol.final_residual >= sol.tol


@pytest.mark.parametrize("kwargs, match", [
    (dict(rhs=lambda x, u: 2 * x, u0=1.0, domain=(2.0, 0.0)), "x1 > x0"),
    (dict(rhs=lambda x, u: 2 * x, u0=1.0, domain=(0.0, 0.0)), "x1 > x0"),
    (dict(rhs=lambda x, u: 2 * x, u0=1.0, domain=(0.0,)), "pair"),
    (dict(rhs=lambda x, u: jnp.array([1.0, 2.0]), u0=1.0, domain=(0, 1)), r"u's shape \(\)"),
    (dict(rhs=lambda x, u: u[0], u0=[1.0, 2.0], domain=(0, 1)), r"u's shape \(2,\)"),
    (dict(rhs=lambda x, u: u.no_such_attribute, u0=[1.0, 2.0], domain=(0, 1)), "rhs.*failed.*AttributeError"),
    (dict(rhs=lambda x, u, du: -u, u0=1.0, domain=(0, 1)), "pair"),
    (dict(rhs=lambda x, u, du: -u, u0=(1.0, [0.0, 1.0]), domain=(0, 1)), "same shape"),
    (dict(rhs=lambda x, u: u, u0=np.nan, domain=(0, 1)), "finite"),
    (dict(rhs=lambda x, u: u, u0=1.0, domain=(0, 1), derivative="spectral"), "derivative"),
    (dict(rhs=lambda x, u: u, u0=1.0, domain=(0, 1), order=3), "order"),
    (dict(rhs=lambda x, u: u, u0=1.0, domain=(0, 1), n_points=1), "n_points"),
    (dict(rhs=lambda x, u: u, u0=1.0, domain=(0, 1), hidden=(0,)), "hidden"),
    (dict(rhs=lambda x, u: u, u0=1.0, domain=(0, 1), eta=-1.0), "eta"),
    (dict(rhs=lambda x, u, k: -k * u, u0=1.0, domain=(0, 1), args=0.5), "args must be a tuple"),
    (dict(rhs=lambda x, u, k: -k * u, u0=1.0, domain=(0, 1)), "order 2 was inferred"),
    (dict(rhs=lambda x, u, k: -k * u, u0=1.0, domain=(0, 1), order=1), "rhs.*failed.*TypeError"),
])
def test_bad_input_raises_value_error_naming_the_problem(kwargs, match):
    """Every check runs before anything is compiled."""
    with pytest.raises(ValueError, match=match):
        solve_ode(kwargs.pop("rhs"), kwargs.pop("u0"), kwargs.pop("domain"), **kwargs)


def test_order_is_inferred_with_args_and_the_extra_arguments_reach_rhs():
    sol = solve_ode(rhs_poly, 1.0, (0.0, 2.0), args=(1.0, -2.0))
    assert sol.order == 1
    assert sol(2.0) == pytest.approx(1 + 8 / 3 - 4, abs=1e-3)


def test_non_finite_residual_raises():
    with warnings.catch_warnings(), pytest.raises(ValueError, match="not finite"):
        warnings.simplefilter("ignore")
        solve_ode(lambda x, u: jnp.log(x - 1.0), 0.0, (0.0, 2.0), steps=2, polish=False)
