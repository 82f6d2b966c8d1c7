"""Autoencoders and variational autoencoders on the course's 8x8 digits (sklearn's digits / 16).

Dense autoencoders 64 -> 64 -> 32 -> code -> 32 -> 64 -> 64 (ReLU, sigmoid output), trained on a stratified
75/25 split (random_state 0) with Adam on the mean squared error; compared with PCA of the same code size
(the linear autoencoder's optimum). A VAE with an 8-D latent space is trained on the negative ELBO and
sampled from the prior.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from physnn.experiments.registry import Result, experiment


def _digits(seed):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=seed)


def _autoencoder(code, seed):
    from physnn.generative import Autoencoder
    from physnn.layers import Dense, Input
    from physnn.models import Sequential

    encoder = Sequential([Input((64,)), Dense(64, activation="relu"), Dense(32, activation="relu"), Dense(code)])
    decoder = Sequential([Input((code,)), Dense(32, activation="relu"), Dense(64, activation="relu"),
                          Dense(64, activation="sigmoid")])
    return Autoencoder(encoder, decoder, seed=seed).compile("adam", "mse")


@experiment("autoencoder", "digits autoencoders: 2-D and 8-D codes vs PCA, the codes by class; a VAE's samples")
def autoencoder(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """Metrics: test reconstruction MSE per pixel of the 2-D and 8-D autoencoders (``mse_code2``, ``mse_code8``;
    issue targets <= 0.034 and <= 0.014 at 300 epochs) and of PCA with as many components, and the VAE's test
    ELBO in nats per sample. Headline ``mse_code2``."""
    from sklearn.decomposition import PCA

    from physnn.generative import VAE
    from physnn.layers import Dense, Input
    from physnn.models import Sequential

    epochs = epochs or (100 if quick else 300)
    X_train, X_test, y_train, y_test = _digits(seed)
    metrics, models = {"epochs": epochs}, {}
    for code in (2, 8):
        ae = _autoencoder(code, seed)
        ae.fit(X_train, X_train, epochs=epochs, batch_size=32, verbose=0)
        models[code] = ae
        metrics[f"mse_code{code}"] = float(np.mean(ae.reconstruction_error(X_test)))
        pca = PCA(code, random_state=seed).fit(X_train)
        metrics[f"pca_mse_code{code}"] = float(np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2))
    encoder = Sequential([Input((64,)), Dense(64, activation="relu"), Dense(16)])
    decoder = Sequential([Input((8,)), Dense(64, activation="relu"), Dense(64, activation="sigmoid")])
    vae = VAE(encoder, decoder, latent_dim=8, seed=seed).compile("adam")
    vae.fit(X_train, epochs=max(epochs // 3, 1), batch_size=32, verbose=0)
    metrics["vae_test_elbo_nats"] = vae.elbo(X_test)

    fig = Figure(figsize=(12, 4), layout="constrained")
    ax_codes, ax_rec, ax_samples = fig.subplots(1, 3)
    z = models[2].encode(X_test)
    points = ax_codes.scatter(z[:, 0], z[:, 1], c=y_test, cmap="tab10", s=8)
    fig.colorbar(points, ax=ax_codes, label="digit")
    ax_codes.set_title(f"2-D codes of the test digits (MSE {metrics['mse_code2']:.4f}, PCA "
                       f"{metrics['pca_mse_code2']:.4f})", fontsize=9)
    shown = X_test[:8]
    grid = np.concatenate([np.concatenate(list(shown.reshape(8, 8, 8)), axis=1),
                           np.concatenate(list(models[8].predict(shown).reshape(8, 8, 8)), axis=1)], axis=0)
    ax_rec.imshow(grid, cmap="gray_r")
    ax_rec.set_title("test digits (top) and their 8-D reconstructions", fontsize=9)
    samples = vae.sample(16, seed=seed).reshape(16, 8, 8)
    ax_samples.imshow(np.concatenate([np.concatenate(list(samples[r * 4:(r + 1) * 4]), axis=1) for r in range(4)]),
                      cmap="gray_r")
    ax_samples.set_title(f"VAE samples (test ELBO {metrics['vae_test_elbo_nats']:.1f} nats)", fontsize=9)
    for ax in (ax_rec, ax_samples):
        ax.set_xticks([])
        ax.set_yticks([])
    return Result(metrics, figures={"autoencoder": fig}, headline="mse_code2")


@experiment("anomaly", "anomaly detection: an autoencoder of windows of the damped oscillator finds injected glitches")
def anomaly(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """A dense window autoencoder (W = 32, code 4) trained on the clean steady-state driven damped oscillator
    (``glitched_oscillator(glitches=0)``) scores a second realisation with 5 injected glitches; the threshold is
    the largest score of the training series. Metrics: the ROC AUC of the per-step scores (issue target >= 0.99),
    glitches found, and false-positive spans (detected spans farther than a window from every glitch; target 0).
    Headline ``roc_auc``."""
    from physnn.datasets import glitched_oscillator
    from physnn.generative import AnomalyDetector

    epochs = epochs or (20 if quick else 30)
    train = glitched_oscillator(glitches=0, seed=seed)
    test = glitched_oscillator(glitches=5, seed=seed + 1)
    detector = AnomalyDetector(window=32, code=4, seed=seed)
    detector.fit(train.x, epochs=epochs, batch_size=64)
    found = detector.detect(test.x, t=test.t)
    reach = detector.window * float(test.t[1] - test.t[0])
    near = [any(s0 - reach <= b and a <= s1 + reach for a, b in test.spans) for s0, s1 in found.spans]
    metrics = {"epochs": epochs, "roc_auc": detector.roc_auc(test.x, test.labels),
               "glitches": len(test.spans),
               "glitches_found": sum(any(s0 <= b and a <= s1 for s0, s1 in found.spans) for a, b in test.spans),
               "false_positive_spans": int(len(near) - sum(near)), "threshold": found.threshold}

    fig = Figure(figsize=(12, 5), layout="constrained")
    ax_signal, ax_score = fig.subplots(2, 1, sharex=True)
    ax_signal.plot(test.t, test.x, lw=0.7, color="0.3", label="test signal")
    for i, (a, b) in enumerate(test.spans):
        ax_signal.axvspan(a, b, color="tab:red", alpha=0.3, label="injected glitch" if i == 0 else None)
    for i, (a, b) in enumerate(found.spans):
        ax_score.axvspan(a, b, color="tab:orange", alpha=0.3, label="detected span" if i == 0 else None)
    ax_signal.legend(loc="upper right", fontsize=8)
    ax_score.semilogy(test.t, found.scores, lw=0.7, label="score a(t)")
    ax_score.axhline(found.threshold, color="k", ls="--", lw=0.8, label="threshold (max over training)")
    ax_score.set_xlabel("t")
    ax_score.legend(loc="upper right", fontsize=8)
    ax_signal.set_title(f"driven damped oscillator with glitches: ROC AUC {metrics['roc_auc']:.4f}, "
                        f"{metrics['glitches_found']}/{metrics['glitches']} found, "
                        f"{metrics['false_positive_spans']} false-positive spans", fontsize=9)
    return Result(metrics, figures={"anomaly": fig}, headline="roc_auc")


def _decays(n, seed, steps=64, dt=0.1, gamma=0.1):
    """Free decays of the damped oscillator x'' + 2 gamma x' + x = 0: A e^{-gamma t} cos(omega t + phi), omega =
    sqrt(1 - gamma^2), A ~ U(0.5, 1.5), phi ~ U(0, 2 pi): [n, steps]."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps) * dt
    amplitude, phase = rng.uniform(0.5, 1.5, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1))
    return (amplitude * np.exp(-gamma * t) * np.cos(np.sqrt(1 - gamma**2) * t + phase)).astype(np.float32)


@experiment("gan", "a GAN of damped-oscillator trajectories, with and without the ODE residual in the generator's loss")
def gan(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """GANs (generator 8 -> 64 -> 64 -> 64 steps, discriminator 64 -> 64 -> 64 -> 1, ReLU; Adam(beta_1 0.5) for
    both, the learning rate decayed linearly from 1e-3 to 0) of free decays of x'' + 2 gamma x' + x = 0 (gamma 0.1,
    dt 0.1), trained without and with the physics term w(t) mean (x'' + 2 gamma x' + x)^2 (central differences)
    in the generator's loss, w rising linearly to 0.01 over the first half of the training (``LinearAnnealing``).
    Each variant is trained as R replicas (seeds seed .. seed + R - 1; 8, 4 in the quick run) in one vmapped
    program (``fit_replicas``), since one GAN's sample quality depends on where its game stands when training
    stops. Metrics, medians over the replicas: the ODE residual of 4096 generated trajectories (issue target:
    >= 5x lower with the term) and their Frechet distance to 4096 real ones in the PCA-8 space of the training
    data (target: equal within 20 %; ``frechet_real``: two real sets, the metric's floor). Headline
    ``residual_ratio``."""
    import jax
    import jax.numpy as jnp

    import physnn
    from physnn.ensemble import fit_replicas
    from physnn.generative import GAN, LinearAnnealing
    from physnn.layers import Dense, Input
    from physnn.metrics import frechet_distance
    from physnn.models import Sequential

    epochs, replicas, dt, gamma, batch = epochs or (60 if quick else 100), 4 if quick else 8, 0.1, 0.1, 64
    x = _decays(2048, seed)
    steps = epochs * -(-len(x) // batch)

    def residual(s):
        d2 = (s[:, 2:] - 2 * s[:, 1:-1] + s[:, :-2]) / dt**2
        d1 = (s[:, 2:] - s[:, :-2]) / (2 * dt)
        return jnp.mean((d2 + 2 * gamma * d1 + s[:, 1:-1]) ** 2)

    real = _decays(4096, seed + 2)
    z = jnp.asarray(np.random.default_rng(seed + 1).standard_normal((4096, 8)), jnp.float32)
    metrics, samples = {"epochs": epochs, "replicas": replicas}, {}
    for label, weight in (("plain", None), ("physics", LinearAnnealing(steps // 2, 0.01))):
        generator = Sequential([Input((8,)), Dense(64, activation="relu"), Dense(64, activation="relu"), Dense(64)])
        discriminator = Sequential([Input((64,)), Dense(64, activation="relu"), Dense(64, activation="relu"),
                                    Dense(1)])
        model = GAN(generator, discriminator, latent_dim=8, physics_loss=residual if weight else None,
                    physics_weight=weight or 1.0, seed=seed)
        adam = physnn.optimizers.Adam(learning_rate=physnn.schedulers.polynomial_decay(1e-3, steps), beta_1=0.5)
        model.compile(generator_optimizer=adam, discriminator_optimizer=adam)
        ensemble = fit_replicas(model, x, np.zeros((len(x), 1), np.float32), replicas=replicas, resample=None,
                                seed=seed, epochs=epochs, batch_size=batch)
        draw = jax.vmap(lambda p, g=generator: g.forward(p, {}, z, None, False)[0])  # [R, 4096, 64]
        samples[label] = np.asarray(draw(ensemble.params))
        metrics[f"residual_{label}"] = float(np.median([residual(jnp.asarray(s)) for s in samples[label]]))
        metrics[f"frechet_{label}"] = float(np.median([frechet_distance(real, s, components=8, reference=x)
                                                       for s in samples[label]]))
    metrics["frechet_real"] = frechet_distance(real, _decays(4096, seed + 3), components=8, reference=x)
    metrics["residual_real"] = float(residual(jnp.asarray(x)))
    metrics["residual_ratio"] = metrics["residual_plain"] / metrics["residual_physics"]

    fig = Figure(figsize=(12, 4), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    t = np.arange(64) * dt
    for ax, (title, key, rows) in zip(axes, (("real", "real", x[:5]), ("GAN", "plain", samples["plain"][0, :5]),
                                             ("GAN + ODE residual", "physics", samples["physics"][0, :5]))):
        ax.plot(t, rows.T, lw=1)
        ax.set_xlabel("t")
        extra = "" if key == "real" else f", Frechet {metrics[f'frechet_{key}']:.3f} (median of {replicas})"
        ax.set_title(f"{title}: residual {metrics[f'residual_{key}']:.3g}{extra}", fontsize=9)
    return Result(metrics, figures={"gan": fig}, headline="residual_ratio")


def _digit_models(seed):
    """The VAE (8-D latent, encoder 64 -> 256 -> 256 -> 16, decoder 8 -> 256 -> 256 -> 64, ReLU, beta 0.3) and the
    GAN (16-D noise, generator 16 -> 256 -> 256 -> 64 sigmoid, discriminator 64 -> 256 -> 256 -> 1 leaky ReLU with
    dropout 0.3, Adam(1e-3, beta_1 0.5) for both players) of ``generated_digits``."""
    import physnn
    from physnn.generative import GAN, VAE
    from physnn.layers import Dense, Dropout, Input
    from physnn.models import Sequential

    def mlp(n_in, n_out, activation="relu", out_activation=None, dropout=0.0):
        layers = [Input((n_in,))]
        for _ in range(2):
            layers += [Dense(256, activation=activation)] + ([Dropout(dropout)] if dropout else [])
        return Sequential([*layers, Dense(n_out, activation=out_activation)])

    vae = VAE(mlp(64, 16), mlp(8, 64, out_activation="sigmoid"), latent_dim=8, beta=0.3, seed=seed).compile("adam")
    gan = GAN(mlp(16, 64, out_activation="sigmoid"), mlp(64, 1, activation="leaky_relu", dropout=0.3),
              latent_dim=16, seed=seed)
    adam = physnn.optimizers.Adam(learning_rate=1e-3, beta_1=0.5)
    gan.compile(generator_optimizer=adam, discriminator_optimizer=adam)
    return vae, gan


@experiment("generated_digits", "digits sampled from a VAE and a GAN: Frechet distance, novelty, class balance")
def generated_digits(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """A VAE and a GAN (``_digit_models``) trained on the training digits (300 epochs, 100 in the quick run;
    batch 32), 450 samples of each. Metrics for each model (prefix ``vae_``/``gan_``): the Frechet distance to the
    test digits in the PCA-32 space of the training digits (issue target <= 0.30), the nearest-neighbour ratio
    (>= 0.9: not memorised), the classifier score and the smallest and largest class fraction by a logistic
    regression trained on the real digits (each class 5-15 %); for calibration the same for 450 training digits
    (``real_frechet``) and for a kernel-density sampler in that PCA space (``kde_frechet``). Headline
    ``gan_frechet``."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KernelDensity

    from physnn.metrics import classifier_score, frechet_distance, nearest_neighbour_ratio

    epochs = epochs or (100 if quick else 300)
    X_train, X_test, y_train, _ = _digits(seed)
    classifier = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    pca = PCA(32, random_state=seed).fit(X_train)
    kde = KernelDensity(bandwidth=0.5).fit(pca.transform(X_train))
    vae, gan = _digit_models(seed)
    vae.fit(X_train, epochs=epochs, batch_size=32, verbose=0)
    gan.fit(X_train, epochs=epochs, batch_size=32, verbose=0)
    samples = {"vae": vae.sample(450, seed=seed), "gan": gan.sample(450, seed=seed),
               "kde": np.clip(pca.inverse_transform(kde.sample(450, random_state=seed)), 0, 1),
               "real": X_train[:450]}
    metrics = {"epochs": epochs}
    for name, s in samples.items():
        metrics[f"{name}_frechet"] = frechet_distance(X_test, s, components=32, reference=X_train)
        if name in ("vae", "gan"):
            score, fractions = classifier_score(classifier.predict_proba(s))
            metrics.update({f"{name}_nn_ratio": nearest_neighbour_ratio(s, X_train, X_test),
                            f"{name}_classifier_score": score, f"{name}_class_min": float(fractions.min()),
                            f"{name}_class_max": float(fractions.max())})

    fig = Figure(figsize=(12, 4.4), layout="constrained")
    for ax, name in zip(fig.subplots(1, 3), ("real", "vae", "gan")):
        grid = samples[name][:36].reshape(6, 6, 8, 8)
        ax.imshow(np.concatenate([np.concatenate(list(row), axis=1) for row in grid]), cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        title = {"real": "training digits", "vae": "VAE samples", "gan": "GAN samples"}[name]
        ax.set_title(f"{title}: Frechet distance {metrics[f'{name}_frechet']:.3f}", fontsize=9)
    return Result(metrics, figures={"generated_digits": fig}, headline="gan_frechet")


def _psnr(a, b) -> float:
    """Peak signal-to-noise ratio of images in [0, 1]: 10 log10(1 / mean (a - b)^2), in dB."""
    return float(10.0 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


@experiment("denoising", "a denoising autoencoder on digits with Gaussian noise of sigma 0.4: PSNR vs noisy and PCA")
def denoising(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """A dense denoiser 64 -> 256 -> 256 -> 64 (ReLU, sigmoid output, binary cross-entropy) trained on noisy
    copies of the training digits (x + 0.4 N(0, 1), clipped to [0, 1]; 60 fresh copies of each image, 10 in the
    quick run) to output the clean image. Metrics: test PSNR of the noisy inputs, of PCA-16 reconstructions and
    of the denoiser (issue target >= 16.5 dB; noisy 10.9, PCA-16 14.4). Headline ``psnr_denoised``."""
    from sklearn.decomposition import PCA

    from physnn.layers import Dense, Input
    from physnn.models import Sequential

    epochs, copies = epochs or 12, 10 if quick else 60
    X_train, X_test, _, _ = _digits(seed)
    rng = np.random.default_rng(seed)
    clean = np.repeat(X_train, copies, axis=0)
    noisy = np.clip(clean + 0.4 * rng.standard_normal(clean.shape), 0.0, 1.0)
    test_noisy = np.clip(X_test + 0.4 * rng.standard_normal(X_test.shape), 0.0, 1.0)
    model = Sequential([Input((64,)), Dense(256, activation="relu"), Dense(256, activation="relu"),
                        Dense(64, activation="sigmoid")], seed=seed)
    model.compile("adam", "binary_crossentropy")
    model.fit(noisy, clean, epochs=epochs, batch_size=64, verbose=0)
    denoised = model.predict(test_noisy)
    pca = PCA(16, random_state=seed).fit(X_train)
    metrics = {"epochs": epochs, "copies": copies, "psnr_noisy": _psnr(test_noisy, X_test),
               "psnr_pca16": _psnr(np.clip(pca.inverse_transform(pca.transform(test_noisy)), 0, 1), X_test),
               "psnr_denoised": _psnr(denoised, X_test)}

    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    rows = [np.concatenate(list(images[:10].reshape(10, 8, 8)), axis=1) for images in (test_noisy, denoised, X_test)]
    ax.imshow(np.concatenate(rows, axis=0), cmap="gray_r")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"noisy ({metrics['psnr_noisy']:.1f} dB), denoised ({metrics['psnr_denoised']:.1f} dB; PCA-16 "
                 f"{metrics['psnr_pca16']:.1f} dB), clean", fontsize=9)
    return Result(metrics, figures={"denoising": fig}, headline="psnr_denoised")
