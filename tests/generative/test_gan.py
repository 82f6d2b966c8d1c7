"""The GAN (issue 13, item 2): the alternating two-optimiser update, learning a distribution, the physics term,
reproducibility and refusals."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physnn
from physnn.generative import GAN, gan_optimizer
from physnn.layers import Dense, Input
from physnn.models import Sequential


def test_the_players_are_updated_alternately_each_by_its_own_optimiser():
    """theta_D <- theta_D - u_D(g_D(theta)), then theta_G <- theta_G - u_G(g_G(theta_D', theta_G)): checked on
    f(a, b) = a^2 b + sin(a b) with SGD(0.1) for D and SGD(0.05) for G."""
    def f(p):
        a, b = p["d"]["w"], p["g"]["w"]
        return jnp.sum(a**2 * b + jnp.sin(a * b))

    value_and_grad = jax.value_and_grad(f)
    opt = gan_optimizer(physnn.optimizers.SGD(learning_rate=0.1), physnn.optimizers.SGD(learning_rate=0.05),
                        lambda name: name == "d")
    params = {"d": {"w": jnp.array([0.7, -0.3])}, "g": {"w": jnp.array([1.2, 0.4])}}
    state = opt.init(params)
    value, grads = value_and_grad(params)
    change, state = opt.update(grads, state, params, value, value_and_grad)
    a, b = params["d"]["w"], params["g"]["w"]
    a_new = a - 0.1 * jax.grad(lambda a: f({"d": {"w": a}, "g": {"w": b}}))(a)
    b_new = b - 0.05 * jax.grad(lambda b: f({"d": {"w": a_new}, "g": {"w": b}}))(b)
    np.testing.assert_allclose(params["d"]["w"] - change["d"]["w"], a_new, rtol=1e-6)
    np.testing.assert_allclose(params["g"]["w"] - change["g"]["w"], b_new, rtol=1e-6)
    assert opt.full_batch is False


def _ring(n, seed):
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0, 2 * np.pi, n)
    return (np.stack([2 * np.cos(theta), 2 * np.sin(theta)], 1) + 0.05 * rng.normal(size=(n, 2))).astype(np.float32)


def _gan(physics_loss=None, weight=1.0, seed=0):
    G = Sequential([Input((4,)), Dense(32, activation="relu"), Dense(32, activation="relu"), Dense(2)])
    D = Sequential([Input((2,)), Dense(32, activation="relu"), Dense(32, activation="relu"), Dense(1)])
    gan = GAN(G, D, latent_dim=4, physics_loss=physics_loss, physics_weight=weight, seed=seed)
    adam = physnn.optimizers.Adam(learning_rate=1e-3, beta_1=0.5)
    return gan.compile(generator_optimizer=adam, discriminator_optimizer=adam)


@pytest.mark.slow
def test_gan_learns_a_ring():
    """Within 60 epochs a GAN does not always find the ring: the fraction of samples within 0.3 of it is 0.69, 0.27,
    0.29, 0.88, 0.98, 0.85 for seeds 0-5. So seeds 0, 1, 2 are tried in turn and one of them must: a broken GAN
    fails all three."""
    x = _ring(1024, 0)
    for seed in range(3):
        gan = _gan(seed=seed)
        history = gan.fit(x, epochs=60, batch_size=64, verbose=0).history
        # each player's loss is in the history; at the equilibrium D(x) = 1/2: L_D = 2 ln 2, L_G = ln 2
        np.testing.assert_allclose(np.add(history["d_loss"], history["g_loss"]), history["loss"], rtol=1e-5)
        s = gan.sample(1000, seed=1)
        r, angle = np.linalg.norm(s, axis=1), np.arctan2(s[:, 1], s[:, 0])
        if np.median(np.abs(r - 2.0)) < 0.2 and np.mean(np.abs(r - 2.0) < 0.3) > 0.6:
            break
    else:
        raise AssertionError(f"no seed of 0-2 put 60 % of the samples within 0.3 of the ring (last: radii {r})")
    assert abs(history["d_loss"][-1] - 2 * np.log(2)) < 0.3 and abs(history["g_loss"][-1] - np.log(2)) < 0.4
    assert np.std(angle) > 1.5  # spread around the ring (uniform on the circle: 1.81), not collapsed to a point
    # (the physics term: test_gan_experiment_physics_term_cuts_the_ode_residual_at_equal_frechet_distance)


def test_a_scheduled_physics_weight_follows_the_training_steps_across_fits():
    """physics_weight = LinearAnnealing(8, 0.5) with 4 steps per epoch: w(t) = 0.5 min(1, t / 8) at steps t = 0, 1,
    ..., so the epoch means are 0.5 * 1.5 / 8, 0.5 * 5.5 / 8, then 0.5; a second fit continues the count; the
    generator's loss holds w(t) L_phy (loss = d_loss + g_loss + w physics, per step)."""
    from physnn.generative import LinearAnnealing

    gan = _gan(physics_loss=lambda s: jnp.mean(s**2), weight=LinearAnnealing(8, 0.5))
    x = _ring(64, 0)
    first = gan.fit(x, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    second = gan.fit(x, epochs=1, batch_size=16, shuffle=False, verbose=0).history
    np.testing.assert_allclose(first["physics_weight"] + second["physics_weight"],
                               [0.5 * 1.5 / 8, 0.5 * 5.5 / 8, 0.5], rtol=1e-6)
    assert np.all(np.asarray(first["physics"]) > 0)
    with pytest.raises(ValueError, match="physics_weight"):
        _gan(physics_loss=lambda s: jnp.mean(s**2), weight=-1.0)


def test_random_layers_in_the_discriminator_get_keys_in_every_pass():
    """A discriminator with Dropout (the MLP GAN's usual regulariser) judges the real, fake and generator's
    batches with fresh dropout draws from the step's key; the run is reproducible."""
    from physnn.layers import Dropout

    def make():
        G = Sequential([Input((4,)), Dense(16, activation="relu"), Dense(2)])
        D = Sequential([Input((2,)), Dense(16, activation="relu"), Dropout(0.5), Dense(1)])
        return GAN(G, D, latent_dim=4, seed=0).compile()

    x = _ring(128, 0)
    a, b = make(), make()
    la, lb = (m.fit(x, epochs=3, batch_size=32, verbose=0).history["loss"] for m in (a, b))
    assert np.all(np.isfinite(la)) and la == lb
    np.testing.assert_array_equal(a.sample(5, seed=1), b.sample(5, seed=1))


def test_gan_is_reproducible_and_refuses_bad_use():
    x = _ring(256, 0)
    a, b = _gan(), _gan()
    for gan in (a, b):
        gan.fit(x, epochs=2, batch_size=64, verbose=0)
    np.testing.assert_array_equal(a.sample(8, seed=3), b.sample(8, seed=3))
    assert not np.array_equal(a.sample(8, seed=3), a.sample(8, seed=4))
    with pytest.raises(ValueError, match="x only"):
        a.fit(x, x)
    with pytest.raises(ValueError, match="physnn models"):
        GAN(lambda z: z, a.discriminator, latent_dim=2)
    with pytest.raises(ValueError, match="physics_loss"):
        GAN(a.generator, a.discriminator, latent_dim=4, physics_loss=3)
    with pytest.raises(ValueError, match="not built"):
        _gan().sample(4)


@pytest.mark.slow
def test_gan_experiment_physics_term_cuts_the_ode_residual_at_equal_frechet_distance():
    """Issue targets: the ODE residual of generated trajectories >= 5x lower with the physics term, at a Frechet
    distance of trajectory features no worse than 20 % above the plain GAN's (medians over 8 replicas, 4096
    samples each; measured for seeds 0, 1, 2: residual ratio 151 / 184 / 159, FD 0.028 / 0.021 / 0.023 with the
    term vs 0.038 / 0.039 / 0.030 without, the metric's floor 0.004-0.012)."""
    from physnn.experiments.unsupervised import gan

    m = gan(seed=0).metrics
    assert m["replicas"] == 8
    assert m["residual_ratio"] >= 5.0
    assert m["frechet_physics"] <= 1.2 * m["frechet_plain"]
    assert m["frechet_real"] < m["frechet_plain"]  # the floor: 4096 samples resolve the difference
