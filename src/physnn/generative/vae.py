"""The variational autoencoder (Kingma & Welling 2014): an encoder q(z|x) = N(mu(x), diag sigma^2(x)), a
decoder p(x|z) and the prior p(z) = N(0, I), trained by maximising the evidence lower bound."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _checks
from physnn.generative.autoencoder import Autoencoder
from physnn.layers.noise import Sampling
from physnn.layers.steps import TrainingSteps
from physnn.training import flat_jit

LIKELIHOODS = ("bernoulli", "gaussian")


def _kl_terms(mu, log_var):
    """The KL divergence of each latent dimension, -1/2 (1 + log_var_j - mu_j^2 - e^{log_var_j}): [n, d]."""
    return -0.5 * (1.0 + log_var - mu**2 - jnp.exp(log_var))


def kl_divergence(mu, log_var):
    """KL(N(mu, diag e^{log_var}) || N(0, I)) = -1/2 sum_j (1 + log_var_j - mu_j^2 - e^{log_var_j}) per sample
    (Kingma & Welling 2014, appendix B). mu, log_var: [n, d] -> [n] (nats)."""
    return jnp.sum(_kl_terms(mu, log_var), axis=-1)


def negative_log_likelihood(x, x_hat, likelihood: str):
    """-log p(x|z) per sample, summed over the features (nats): Bernoulli (x_hat the probabilities, clipped
    to [1e-7, 1 - 1e-7]) or unit-variance Gaussian (1/2 ||x - x_hat||^2 + d/2 log 2 pi). [n, ...] -> [n]."""
    axes = tuple(range(1, x.ndim))
    if likelihood == "bernoulli":
        p = jnp.clip(x_hat, 1e-7, 1.0 - 1e-7)
        return -jnp.sum(x * jnp.log(p) + (1.0 - x) * jnp.log1p(-p), axis=axes)
    d = np.prod(x.shape[1:])
    return 0.5 * jnp.sum((x - x_hat) ** 2, axis=axes) + 0.5 * d * np.log(2.0 * np.pi)


class VAE(Autoencoder):
    """A variational autoencoder. The objective of a batch is the negative ELBO per sample, in nats:

        L = mean_i [ -log p(x_i | z_i) + beta KL(q(z | x_i) || p(z)) ],   z_i = mu_i + sigma_i eps_i

    with the reconstruction term summed over the features and the KL term over the latent dimensions (one
    normalisation for both, so beta = 1 is the true ELBO). The KL term enters through ``add_loss``; the
    reparameterised sample is the ``Sampling`` layer (a fresh eps every step, from the step's key).

    The history holds, besides the loss, ``kl`` (the mean KL per sample, nats) and ``kl_dim_<j>`` for every
    latent dimension j: a dimension whose KL stays near 0 carries no information about x (posterior collapse;
    ``kl_per_dimension`` and ``collapsed_dimensions`` report it after training), and ``beta`` when it is a
    schedule.

    Arguments:
        encoder: x [n, *input_shape] -> [n, 2 * latent_dim] (the mean, then the log-variance).
        decoder: z [n, latent_dim] -> x^ [n, *input_shape] (probabilities for "bernoulli").
        latent_dim: d, an integer >= 1.
        beta: the weight of the KL term (beta-VAE, Higgins et al. 2017), a number >= 0, or a schedule
            ``beta(t)`` of the number t of training steps taken (``LinearAnnealing``, ``CyclicalAnnealing`` or
            any jax-traceable callable); t is a non-trainable weight of the model.
        likelihood: "bernoulli" (data in [0, 1]) or "gaussian" (unit variance).
    """

    def __init__(self, encoder, decoder, latent_dim: int, beta: float = 1.0, likelihood: str = "bernoulli",
                 name=None, seed=0):
        super().__init__(encoder, decoder, name=name or "vae", seed=seed)
        self.latent_dim = _checks.count("latent_dim", latent_dim)
        self.beta = beta if callable(beta) else _checks.real("beta", beta, 0.0)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        self.likelihood = likelihood
        self.sampling = Sampling(name=f"{self.name}_sampling")
        self.training_steps = TrainingSteps(name=f"{self.name}_training_steps")

    def call(self, inputs, training=False):
        h = self.encoder(inputs, training=training)
        if h.shape[-1] != 2 * self.latent_dim:
            raise ValueError(f"VAE '{self.name}': the encoder must output 2 * latent_dim = {2 * self.latent_dim} "
                             f"values per sample (mean, log-variance), got shape {tuple(h.shape[1:])}")
        mu, log_var = jnp.split(h, 2, axis=-1)
        kl_per_dim = jnp.mean(_kl_terms(mu, log_var), axis=0)  # [d], nats
        if callable(self.beta):
            beta = self.beta(self.training_steps(h)[0, 0])
            self.add_metric(beta, "beta")
        else:
            beta = self.beta
        self.add_loss(beta * jnp.sum(kl_per_dim))
        self.add_metric(jnp.sum(kl_per_dim), "kl")
        for j in range(self.latent_dim):
            self.add_metric(kl_per_dim[j], f"kl_dim_{j}")
        return self.decoder(self.sampling(h), training=training)

    def compile(self, optimizer="adam", loss=None, metrics=None):
        """The loss is the VAE's own reconstruction term (``loss`` must be left out)."""
        if loss is not None:
            raise ValueError("VAE.compile takes no loss: its objective is the negative ELBO (see the class)")
        likelihood = self.likelihood

        def reconstruction(y_true, y_pred):
            return jnp.mean(negative_log_likelihood(y_true, y_pred, likelihood))

        reconstruction.__name__ = f"vae_{likelihood}_reconstruction"
        return super().compile(optimizer, reconstruction, metrics)

    def fit(self, x, y=None, **kwargs):
        """Train on x alone (the targets are the inputs); keyword arguments as ``Module.fit``."""
        if y is not None:
            raise ValueError("VAE.fit takes x only (it reconstructs its inputs)")
        validation = kwargs.pop("validation_data", None)
        if validation is not None:
            kwargs["validation_data"] = (validation, validation)
        return super().fit(x, x, **kwargs)

    def evaluate(self, x, y=None, **kwargs):
        """The negative ELBO per sample at the posterior mean (z = mu) on x (the targets are the inputs)."""
        if y is not None:
            raise ValueError("VAE.evaluate takes x only (it reconstructs its inputs)")
        return super().evaluate(x, x, **kwargs)

    def posterior(self, x) -> tuple[np.ndarray, np.ndarray]:
        """(mu, log sigma^2) of q(z | x) for inputs x: two arrays [n, latent_dim]."""
        h = Autoencoder.encode(self, x)
        return h[:, : self.latent_dim], h[:, self.latent_dim:]

    def encode(self, x) -> np.ndarray:
        """The codes z = mu(x), the posterior means: [n, latent_dim]."""
        return self.posterior(x)[0]

    def kl_per_dimension(self, x) -> np.ndarray:
        """The mean over x of KL(q(z_j | x) || N(0, 1)) for each latent dimension j, in nats: [latent_dim]."""
        mu, log_var = self.posterior(x)
        return np.mean(np.asarray(_kl_terms(mu, log_var)), axis=0)

    def collapsed_dimensions(self, x, threshold: float = 0.01) -> list[int]:
        """The latent dimensions whose mean KL on x is below ``threshold`` nats: their posterior is the prior, so
        they encode nothing about x (posterior collapse)."""
        threshold = _checks.real("threshold", threshold, 0.0)
        return [int(j) for j in np.nonzero(self.kl_per_dimension(x) < threshold)[0]]

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n samples x ~ p(x|z) at its mean, z ~ N(0, I) drawn from ``seed``: [n, *input_shape]."""
        n, seed = _checks.count("n", n), _checks.seed("seed", seed)
        if not self.built:
            raise ValueError(f"model '{self.name}' is not built yet: fit it, or call build(input_shape)")
        dtype = jax.tree_util.tree_leaves(self.params)[0].dtype
        return self.decode(np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(dtype))

    def elbo(self, x, seed: int = 0) -> float:
        """The ELBO in nats per sample, E_q[log p(x|z)] - KL(q(z|x) || p(z)) (beta = 1), averaged over x with one
        reparameterised sample per input drawn from ``seed``."""
        x = self._as_input(x)
        self._ensure_built(x)
        seed = _checks.seed("seed", seed)
        if "elbo" not in self._compiled:
            def elbo(params, x, key):
                h = self.encoder.forward(params, {}, x, None, False)[0]
                mu, log_var = jnp.split(h, 2, axis=-1)
                z = mu + jnp.exp(0.5 * log_var) * jax.random.normal(key, mu.shape, mu.dtype)
                x_hat = self.decoder.forward(params, {}, z, None, False)[0]
                return jnp.mean(-negative_log_likelihood(x, x_hat, self.likelihood) - kl_divergence(mu, log_var))
            self._compiled["elbo"] = flat_jit(elbo)
        return float(self._compiled["elbo"](self.params, jax.device_put(np.asarray(x)),
                                            jax.random.PRNGKey(seed)))
