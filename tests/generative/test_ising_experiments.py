"""The tour's Ising experiments: the CNN finds T_c, the VAE's 1-D code is the magnetisation."""

import numpy as np
import pytest

from physnn.experiments.ising import half_crossing
from physnn.experiments.registry import get_experiment


def test_half_crossing_interpolates_the_first_fall_through_one_half():
    T = np.array([1.0, 2.0, 3.0, 4.0])
    assert half_crossing(T, np.array([1.0, 0.75, 0.25, 0.0])) == pytest.approx(2.5)
    assert half_crossing(T, np.array([1.0, 0.5, 0.4, 0.0])) == pytest.approx(2.0)
    assert np.isnan(half_crossing(T, np.array([1.0, 0.9, 0.8, 0.7])))


@pytest.mark.slow
def test_ising_phases_quick_finds_tc_within_two_percent():
    """Issue target: T_c within 2 % of 2.269 at L = 32; measured (quick, seeds 0-2) 1.4, 1.2, 0.4 %; the full run
    0.7, 1.0, 1.6 %."""
    result = get_experiment("ising_phases")(seed=0, quick=True)
    m = result.metrics
    assert m["L"] == 32 and m["tc_relative_error"] <= 0.02
    assert m["accuracy_far_from_tc"] >= 0.99
    assert set(result.figures) == {"ising_phases"} and result.headline == "tc_estimate"


@pytest.mark.slow
def test_vae_ising_code_follows_the_magnetisation():
    """Issue target |rho| >= 0.95; measured (quick, seeds 0-2) rho(z, m) = -0.987, and 0.967 for |z - z0| vs |m|."""
    result = get_experiment("vae_ising")(seed=0, quick=True)
    m = result.metrics
    assert abs(m["rho_z_m"]) >= 0.95 and m["rho_abs"] >= 0.95
    assert m["elbo_nats"] > -460  # 1024 spins: the hot phase alone costs ~ 1024 ln 2 = 710 nats without a model
