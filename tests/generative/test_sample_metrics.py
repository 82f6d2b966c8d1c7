"""Offline metrics of generated samples (issue 13, item 4): the Frechet distance in PCA space, the
nearest-neighbour ratio and the classifier score, against their formulas and limiting cases."""

import numpy as np
import pytest

from physnn.metrics import classifier_score, frechet_distance, nearest_neighbour_ratio

RNG = np.random.default_rng(0)


def test_frechet_distance_of_gaussians_is_the_closed_form():
    a = RNG.normal(size=(20000, 3))
    b = RNG.normal(size=(20000, 3)) * 2.0 + np.array([1.0, 0.0, 0.0])
    # N(0, I) vs N(m, 4 I): |m|^2 + tr(I + 4 I - 2 * 2 I) = 1 + 3 = 4
    assert frechet_distance(a, b, components=3) == pytest.approx(4.0, rel=0.05)
    assert frechet_distance(a, a[::-1], components=3) == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance(a[:1], b)


def test_frechet_distance_is_exact_and_quiet_for_data_on_a_subspace():
    """Samples on a 2-D plane of R^8 (singular covariances, where scipy's sqrtm of C_r C_g is ill-conditioned): the
    symmetric form gives the closed form of two Gaussians on the plane, N(0, I_2) vs N(0, 4 I_2): tr(I + 4 I - 4 I)
    = 2, with no warning; and it equals scipy's sqrtm where that one is well conditioned."""
    import warnings

    from scipy.linalg import sqrtm

    basis = np.linalg.qr(RNG.normal(size=(8, 2)))[0].T  # [2, 8], orthonormal rows
    a, b = RNG.normal(size=(20000, 2)) @ basis, 2.0 * RNG.normal(size=(20000, 2)) @ basis
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frechet_distance(a, b, components=8) == pytest.approx(2.0, rel=0.05)
    c, d = RNG.normal(size=(400, 5)), RNG.normal(size=(400, 5)) @ RNG.normal(size=(5, 5))
    ca, cd = np.cov(c.T), np.cov(d.T)  # (components=5 on 5 features: the PCA is a rotation, which FD ignores)
    expected = np.sum((c.mean(0) - d.mean(0)) ** 2) + np.trace(ca + cd - 2 * np.real(sqrtm(ca @ cd)))
    assert frechet_distance(c, d, components=5) == pytest.approx(expected, rel=1e-8)


def test_nearest_neighbour_ratio_detects_memorisation():
    train, test = RNG.normal(size=(500, 4)), RNG.normal(size=(500, 4))
    assert nearest_neighbour_ratio(RNG.normal(size=(500, 4)), train, test) == pytest.approx(1.0, abs=0.15)
    copies = train[:200] + 1e-3 * RNG.normal(size=(200, 4))
    assert nearest_neighbour_ratio(copies, train, test) < 0.05


def test_classifier_score_is_one_for_one_class_and_k_for_confident_balanced_samples():
    k = 10
    confident = np.eye(k)[np.arange(1000) % k]
    score, fractions = classifier_score(confident)
    assert score == pytest.approx(k, rel=1e-6) and np.allclose(fractions, 0.1)
    assert classifier_score(np.eye(k)[np.zeros(100, int)])[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="probabilities"):
        classifier_score(np.ones((4, 3)))
