"""The pendulum of physnn.evolve.pendulum: equation (1) integrated correctly (energy, small-oscillation period,
damping's energy loss), the torque limit, the reward (3), the target measure and argument checks. Learning is
tested in test_evolution_experiments.py."""

import math

import jax
import numpy as np
import pytest

from physnn.evolve import pendulum as P


def _zero_policy(dtype=np.float64):
    """A network whose torque is exactly 0 (W2 = b2 = 0)."""
    return {k: np.zeros_like(v, dtype=dtype) for k, v in P.init_policy(0).items()}


def test_rk4_conserves_energy_without_damping_and_torque_and_beats_euler():
    with jax.enable_x64(True):
        p = P.Pendulum.make(damping=0.0)
        theta, omega, u = P.simulate(_zero_policy(), p, theta0=math.pi - 2.0)  # a large swing
        assert not np.any(np.asarray(u))
        E = np.asarray(P.energy(theta, omega, p))
        assert np.ptp(E) < 2e-4 * p.mass * p.g * p.length  # measured 4.5e-5 (dt 0.05, 200 steps)
        e = p._replace(method="euler")
        th, om, _ = P.simulate(_zero_policy(), e, theta0=math.pi - 2.0)
        assert np.ptp(np.asarray(P.energy(th, om, e))) > 10 * np.ptp(E)


def test_small_oscillations_about_the_hanging_position_have_period_2pi_sqrt_l_over_g():
    with jax.enable_x64(True):
        p = P.Pendulum.make(damping=0.0, dt=0.01, duration=20.0, length=0.5)
        theta, _, _ = P.simulate(_zero_policy(), p, theta0=math.pi - 0.01)
        phi = np.asarray(theta) - math.pi  # angle from hanging
        crossings = np.nonzero((phi[:-1] < 0) & (phi[1:] >= 0))[0]
        period = np.mean(np.diff(crossings)) * p.dt
        assert period == pytest.approx(2 * math.pi * math.sqrt(0.5 / 9.81), abs=0.015)


def test_damping_removes_energy_at_the_rate_b_m_l2_omega2():
    """dE/dt = -b m l^2 theta'^2 + u theta' from (1): with u = 0, E(T) - E(0) = -b m l^2 int theta'^2 dt."""
    with jax.enable_x64(True):
        p = P.Pendulum.make(damping=0.3, dt=0.01, duration=5.0)
        theta, omega, _ = P.simulate(_zero_policy(), p, theta0=math.pi - 1.0)
        E = np.asarray(P.energy(theta, omega, p))
        E0 = float(P.energy(math.pi - 1.0, 0.0, p))
        w = np.concatenate([[0.0], np.asarray(omega)])
        lost = p.damping * p.mass * p.length ** 2 * np.sum(0.5 * (w[1:] ** 2 + w[:-1] ** 2)) * p.dt
        assert E[-1] < E0
        assert E0 - E[-1] == pytest.approx(lost, rel=1e-3)


def test_torque_is_limited_and_too_weak_to_lift_the_pendulum_directly():
    p = P.DEFAULT
    assert p.u_max < p.mass * p.g * p.length  # a swing-up is needed
    # at theta = pi/2 (horizontal) full torque towards upright still lets it fall: theta'' > 0 pushes it away
    assert float(P.acceleration(math.pi / 2, 0.0, -p.u_max, p)) > 0
    params = {k: 50 * np.ones_like(v) for k, v in P.init_policy(0).items()}  # saturating network
    _, _, u = P.simulate(params, p)
    assert np.max(np.abs(np.asarray(u))) <= p.u_max * (1 + 1e-6)
    assert p.steps == 200 and p.steps * p.dt == pytest.approx(10.0)


def test_reward_of_a_pendulum_left_hanging_and_the_target_measure():
    with jax.enable_x64(True):
        p = P.DEFAULT
        # the zero policy from exact rest at theta = pi stays there: R = sum dt cos(pi) = -10
        assert float(P.episode_return(_zero_policy(), p)) == pytest.approx(-p.duration, rel=1e-9)
    theta = np.full(200, 2 * math.pi + 0.05)  # wrapped: 0.05 rad from upright
    assert P.upright_hold(theta) == (True, pytest.approx(0.05))
    theta[150] = 0.2
    assert P.upright_hold(theta)[0] is False
    theta[150], theta[50] = 0.0, 3.0  # the first half does not count
    assert P.upright_hold(theta)[0] is True
    np.testing.assert_allclose(P.wrap(np.array([math.pi, -math.pi, 3 * math.pi / 2])), [-math.pi, -math.pi,
                                                                                        -math.pi / 2])


@pytest.mark.parametrize("values, argument", [
    ({"dt": 0.0}, "dt"), ({"u_max": -1.0}, "u_max"), ({"damping": -0.1}, "damping"), ({"g": float("nan")}, "g"),
    ({"method": "leapfrog"}, "method"), ({"dt": 20.0}, "dt"), ({"friction": 1.0}, "friction"),
    ({"rate_cost": -1.0}, "rate_cost"),
])
def test_bad_pendulum_arguments_raise_value_errors_naming_them(values, argument):
    with pytest.raises(ValueError, match=argument):
        P.Pendulum.make(**values)


def test_bad_training_arguments_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="seed"):
        P.init_policy(-1)
    with pytest.raises(ValueError, match="hidden"):
        P.init_policy(0, hidden=0)
    with pytest.raises(ValueError, match="pendulum"):
        P.train(0, generations=1, pendulum={"u_max": 3.0})
    with pytest.raises(ValueError, match="generations"):
        P.train(0, generations=0)
