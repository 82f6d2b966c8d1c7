"""The generative adversarial network (Goodfellow et al. 2014) on the one engine, with the non-saturating loss.

A generator G maps z ~ N(0, I) to samples, a discriminator D maps samples to one logit (real vs generated). Per
batch of real data x and noise z (a fresh draw every step, from the step's key):

    L_D = mean softplus(-D(x)) + mean softplus(D(G(z)))        (the cross-entropy of D: real 1, generated 0)
    L_G = mean softplus(-D(G(z))) + w L_phy(G(z))              (non-saturating: -log sigma(D(G(z))))

with ``L_phy`` an optional physics term on the generated batch (the CP3 notes' eq. 4.4), its weight w a number or a
schedule w(t) of the training steps taken (``LinearAnnealing``: the game settles before the physics pulls). The
model's objective is
L = L_D[G stopped] + L_G[D stopped], so its gradient holds dL_D/d theta_D in the discriminator's entries and
dL_G/d theta_G in the generator's; ``gan_optimizer`` then updates them alternately inside the one compiled epoch,
each with its own optimiser and state: D first, then G with the gradient taken again at the updated D. No
``trainable`` flags are switched (the trap of Keras GANs) and nothing depends on the order of compile calls.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _checks
from physnn.layers.base import Layer
from physnn.layers.context import _stack
from physnn.layers.steps import TrainingSteps
from physnn.models import Module
from physnn.schedulers import as_functional
from physnn.training.lbfgs import FullBatchOptimizer


class _LatentNoise(Layer):
    """z ~ N(0, I) of shape [batch, latent_dim] from the step's key (the batch size read from the input); zeros
    while a model builds (no key)."""

    def __init__(self, latent_dim, name=None):
        super().__init__(name)
        self.latent_dim = _checks.count("latent_dim", latent_dim)

    def output_shape(self, input_shape):
        return (self.latent_dim,)

    def apply(self, params, x, *, key=None, training=False):
        shape = (jnp.shape(x)[0], self.latent_dim)
        dtype = jnp.result_type(float)
        return jnp.zeros(shape, dtype) if key is None else jax.random.normal(key, shape, dtype)


class GANState(NamedTuple):
    discriminator: Any
    generator: Any


def gan_optimizer(discriminator_optimizer, generator_optimizer, is_discriminator) -> FullBatchOptimizer:
    """Alternating updates of a GAN's two players, each with its own optimiser and state (``full_batch=False``:
    one step per minibatch). With g(theta) the gradient of the GAN's objective (see the module docstring):

        theta_D <- theta_D - u_D(g_D(theta_D, theta_G)),  then  theta_G <- theta_G - u_G(g_G(theta_D', theta_G))

    Arguments:
        discriminator_optimizer, generator_optimizer: names, Schedulers or functional optimisers.
        is_discriminator: layer name -> whether that layer belongs to the discriminator (read when traced).
    """
    d_opt, g_opt = as_functional(discriminator_optimizer), as_functional(generator_optimizer)

    def split(tree):
        d = {k: (v if is_discriminator(k) else {}) for k, v in tree.items()}
        g = {k: ({} if is_discriminator(k) else v) for k, v in tree.items()}
        return d, g

    def join(d, g):
        return {k: (d[k] if is_discriminator(k) else g[k]) for k in d}

    def init(params):
        d, g = split(params)
        return GANState(d_opt.init(d), g_opt.init(g))

    def update(grads, state, params, value, value_and_grad):
        del value
        d_params, g_params = split(params)
        d_change, d_state = d_opt.update(split(grads)[0], state.discriminator, d_params)
        d_params = jax.tree_util.tree_map(lambda p, c: p - c.astype(p.dtype), d_params, d_change)
        _, grads = value_and_grad(join(d_params, g_params))  # the generator's gradient at the updated D
        g_change, g_state = g_opt.update(split(grads)[1], state.generator, g_params)
        return join(d_change, g_change), GANState(d_state, g_state)

    return FullBatchOptimizer(init, update, full_batch=False)


class GAN(Module):
    """A GAN of any two physnn models (see the module docstring).

    Arguments:
        generator: z [n, latent_dim] -> samples [n, *data_shape].
        discriminator: samples [n, *data_shape] -> logits [n, 1] (no sigmoid).
        latent_dim: the noise dimension, >= 1.
        physics_loss: None or a callable ``L_phy(samples) -> scalar`` added to the generator's loss.
        physics_weight: its weight w, a number >= 0 or a schedule ``w(t)`` of the number t of training steps
            taken (``LinearAnnealing``; the history then holds ``physics_weight``).
    """

    def __init__(self, generator, discriminator, latent_dim: int, physics_loss=None, physics_weight: float = 1.0,
                 name=None, seed=None):
        super().__init__(name=name or "gan", seed=seed)
        if not isinstance(generator, Module) or not isinstance(discriminator, Module):
            raise ValueError("GAN: generator and discriminator must be physnn models")
        if physics_loss is not None and not callable(physics_loss):
            raise ValueError(f"GAN: physics_loss must be None or a callable, got {physics_loss!r}")
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = _checks.count("latent_dim", latent_dim)
        self.physics_loss = physics_loss
        self.physics_weight = (physics_weight if callable(physics_weight)
                               else _checks.real("physics_weight", physics_weight, 0.0))
        self.noise = _LatentNoise(latent_dim, name=f"{self.name}_noise")
        self.training_steps = TrainingSteps(name=f"{self.name}_training_steps")

    def _is_discriminator(self, name) -> bool:
        return any(m is self.discriminator for m in self._owners.get(name, ()))

    def call(self, x, training=False):
        """The objective's terms through ``add_loss``; returns D's logits of the real batch [n, 1]."""
        fake = self.generator(self.noise(x), training=training)
        real_logits = self.discriminator(x, training=training)
        fake_logits = self.discriminator(jax.lax.stop_gradient(fake), training=training)
        ctx = _stack()[-1]  # the parameters of this call, with the discriminator's stopped for the generator's term

        def in_discriminator(name):
            return any(m is self.discriminator for m in ctx.owners.get(name, ()))

        stopped = {k: (jax.tree_util.tree_map(jax.lax.stop_gradient, v) if in_discriminator(k) else v)
                   for k, v in ctx.params.items()}
        judged = self.discriminator.forward(stopped, {}, fake, ctx.next_key(), training)[0]  # (D's dropout draws)
        d_loss = jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))
        g_loss = jnp.mean(jax.nn.softplus(-judged))
        self.add_metric(d_loss, "d_loss")
        self.add_metric(g_loss, "g_loss")
        if self.physics_loss is not None:
            physics = self.physics_loss(fake)
            self.add_metric(physics, "physics")
            weight = self.physics_weight
            if callable(weight):
                weight = weight(self.training_steps(x)[0, 0])
                self.add_metric(weight, "physics_weight")
            g_loss = g_loss + weight * physics
        self.add_loss(d_loss + g_loss)
        return real_logits

    def compile(self, generator_optimizer="adam", discriminator_optimizer="adam", metrics=None):
        """Each player's optimiser (names, Schedulers or functional optimisers): see ``gan_optimizer``."""
        if metrics:
            raise ValueError("GAN.compile takes no metrics: the history holds the objective L_D + L_G, d_loss, g_loss "
                             "and physics")
        optimizer = gan_optimizer(discriminator_optimizer, generator_optimizer, self._is_discriminator)

        def no_data_loss(y_true, y_pred):  # (the objective is all add_loss)
            return jnp.zeros(())

        no_data_loss.__name__ = "gan_objective"
        return super().compile(optimizer, no_data_loss)

    def fit(self, x, y=None, **kwargs):
        """Train on the real samples x (no targets); keyword arguments as ``Module.fit``."""
        if y is not None:
            raise ValueError("GAN.fit takes x only")
        x = np.asarray(x)
        return super().fit(x, np.zeros((len(x), 1), np.float32), **kwargs)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n generated samples G(z), z ~ N(0, I) drawn from ``seed``: [n, *data_shape]."""
        n, seed = _checks.count("n", n), _checks.seed("seed", seed)
        if not self.built:
            raise ValueError(f"model '{self.name}' is not built yet: fit it first")
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        return np.asarray(self.generator.forward(self.params, {}, jnp.asarray(z), None, False)[0])

    def get_config(self) -> dict:
        raise ValueError("a GAN holds two models; save its generator and discriminator, or its weights")
