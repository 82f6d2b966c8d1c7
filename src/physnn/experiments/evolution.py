r"""Gradient-free training (``physnn.evolve``): a pendulum swung up from reward alone, logic gates learned by a
genetic algorithm, a spectrum fitted by CMA-ES on a binned likelihood, and the digits MLP trained by OpenAI-ES and
the genetic algorithm next to Adam.

``pendulum`` — the torque-limited damped pendulum of ``physnn.evolve.pendulum`` (theta'' = (g/l) sin(theta) -
b theta' + u/(m l^2), theta = 0 upright, |u| <= 3 N m < m g l = 9.81 N m, RK4 with dt = 0.05 s, 10 s episodes from
the hanging start theta = pi) and a 3-16-1 tanh policy u = u_max tanh(...) of (cos theta, sin theta, theta'/8),
trained by ``evolve.maximize`` (sep-CMA-ES, popsize 64, sigma 0.5) on the return R = sum_k dt [cos(theta_k) -
0.01 (u_k/u_max)^2 - 0.01 theta'_k^2]. Target (issue 16): within 0.1 rad of upright over the whole second half
of the episode, 3 of 3 seeds. Quick: seeds seed..seed+2, 300 generations; full: 600 generations. Measured
(seeds 0-2): quick, worst |theta| over the last 5 s 0.020 rad, returns 3.48-3.63, upright to stay after 4.3-4.6 s;
full, worst 0.003 rad, returns 3.61-3.80, 0.7-1.0 s per seed (2 cores, compilation included for the first).

``evolve_gates`` — the course's XOR/AND/OR (``experiments.gates``): p = sigmoid(sigmoid(x W1 + b1) W2 + b2) with
4 hidden units, one network per gate, learned by the genetic algorithm ("ga": truncation selection, elitism,
Gaussian mutation; popsize 64, sigma 0.5) on the binary cross-entropy of the four points; no gradient is
computed. Target: 100 % on every gate for 5 of 5 seeds (seeds seed..seed+4; quick 150 generations, full 300).
Measured: 5 of 5 in both settings (seeds 0-4), the best cross-entropy at the clip floor (~1e-7) after about 100
generations; 2 hidden units instead of 4 fail XOR for seed 2 (0.75).

``evolve_spectrum`` — events x in [0, 10) from a Gaussian peak on a flat background,

    p(x | f, mu, s) = f N(x; mu, s) / Z(mu, s) + (1 - f) / 10,    Z = Phi((10 - mu)/s) - Phi(-mu/s),

with N = 2000 events, f = 0.25 (the peak's share: its amplitude is f N events), mu = 6, s = 0.5. CMA-ES
(popsize 16, sigma 0.3, from f, mu, s = 0.5, 5, 1) minimises the binned Poisson negative log-likelihood of a
50-bin histogram (Baker & Cousins 1984),

    -ln L_bin = sum_i [nu_i - n_i + n_i ln(n_i / nu_i)],   nu_i = N [f (Phi(z_{i+1}) - Phi(z_i)) / Z + (1 - f) w / 10],

z_i = (e_i - mu)/s at the bin edges e_i, w the bin width; scipy (``scipy.optimize.minimize``, L-BFGS-B) minimises
the unbinned -ln L = -sum_j ln p(x_j | f, mu, s) from the same start, its errors the square roots of the diagonal
of the inverse Hessian (central finite differences of the unbinned -ln L at its minimum). Target: each CMA-ES
parameter within 1 sigma of scipy's estimate. Quick and full differ only in generations (150, 300). Measured
(seed 0): pulls (CMA-ES - scipy) / error of -0.18 (f), -0.07 (mu), -0.38 (s), scipy's errors 0.015, 0.033,
0.029; over seeds 0-9 the largest |pull| is 0.38.

``evolve_digits`` — scikit-learn's 8x8 digits / 16, split 75/25 stratified (random_state 0: 1347 training, 450
test images), the MLP p = softmax(tanh(x W1 + b1) W2 + b2) of 64-32-10 (2410 parameters) as a ``Sequential``,
trained on the cross-entropy L = -1/B sum_b ln p_{b, y_b} three ways through ``compile`` / ``fit``: OpenAI-ES
(``evolve.OpenES``, population 256, sigma 0.05, Adam 0.05 on the search gradient g = 1/(P sigma) sum_i u_i eps_i,
u the centred ranks; Salimans et al. 2017) and the genetic algorithm (``evolve.SimpleGA``, population 64, sigma
0.03, truncation 16, one elite; Such et al. 2017), each with the whole training set as the batch so that one
epoch of ``fit`` is one generation, and Adam (1e-2, minibatches of 32) for comparison. Targets (issue 16):
OpenAI-ES >= 0.97 test accuracy, GA >= 0.90. Quick: 40 generations each, 5 Adam epochs; full: 200 (ES) and 600
(GA) generations, 50 Adam epochs. Measured (seed 0, 2 cores at load average ~2.6): full, OpenAI-ES 0.973 test
accuracy (0.97 first at generation 66, best 0.980; 13 s, ~65 ms a generation through fit), GA 0.940 (best 0.947;
6.5 s; 0.956 after 1000 generations), Adam 0.982 (0.5 s); quick, 0.956, 0.422 and 0.960 in 6.5 s together.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from physnn import _checks, evolve, initializers
from physnn.evolve import pendulum as P
from physnn.experiments.gates import GATES, GRID, X
from physnn.experiments.registry import Result, experiment

# --- pendulum ------------------------------------------------------------------------------------------------

PENDULUM_SETTINGS = {"strategy": "sep_cma_es", "popsize": 64, "sigma": 0.5, "hidden": 16}


def _settle_time(theta: np.ndarray, dt: float, tolerance: float = 0.1) -> float:
    """The first time after which |wrap(theta)| stays below ``tolerance`` to the end (inf if it never does)."""
    outside = np.nonzero(np.abs(P.wrap(theta)) >= tolerance)[0]
    if outside.size == 0:
        return 0.0
    if outside[-1] == theta.shape[0] - 1:
        return float("inf")
    return float((outside[-1] + 2) * dt)


@experiment("pendulum", "A policy network swings up and balances a torque-limited pendulum, from reward alone (ES)")
def pendulum(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """Train the policy for seeds seed..seed+2 (``epochs``: generations; quick 300, full 600).

    Metrics: ``held_seeds`` (of 3: within 0.1 rad of upright over the last 5 s), ``worst_angle_last_half``
    (rad, max over seeds), the return and settle time per seed, ``seconds_per_seed`` (wall time of the search,
    the first seed's including compilation)."""
    seed = _checks.seed("seed", seed)
    generations = epochs or (300 if quick else 600)
    seeds = [seed + k for k in range(3)]
    runs = [P.train(s, generations=generations, **PENDULUM_SETTINGS) for s in seeds]
    p = P.DEFAULT
    metrics = {"held_seeds": float(sum(r.held for r in runs)), "seeds": float(len(runs)),
               "worst_angle_last_half": max(r.worst for r in runs), "generations": float(generations)}
    for s, r in zip(seeds, runs, strict=True):
        metrics[f"return_seed{s}"] = r.result.reward
        metrics[f"settle_time_seed{s}"] = _settle_time(r.theta, p.dt)
        metrics[f"seconds_seed{s}"] = r.seconds
    metrics["seconds_per_seed"] = float(np.mean([r.seconds for r in runs]))
    metrics["max_return"] = p.duration
    rows = ["t,theta,omega,u"] + [f"{(k + 1) * p.dt:.3f},{a:.6f},{b:.6f},{c:.6f}"
                                  for k, (a, b, c) in enumerate(zip(runs[0].theta, runs[0].omega, runs[0].u))]
    return Result(metrics, {"returns": _returns_figure(seeds, runs), "trajectory": _trajectory_figure(seeds, runs)},
                  {"trajectory": "\n".join(rows) + "\n"}, headline="held_seeds")


def _returns_figure(seeds, runs) -> Figure:
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for k, (s, r) in enumerate(zip(seeds, runs, strict=True)):
        g = np.arange(1, r.result.history["best"].shape[0] + 1)
        ax.plot(g, r.result.history["best"], color=f"C{k}", label=f"seed {s}: best member")
        ax.plot(g, r.result.history["mean"], color=f"C{k}", ls=":", label=f"seed {s}: search mean")
    ax.axhline(P.DEFAULT.duration, color="k", lw=0.8, ls="--", label="upright at rest throughout")
    ax.set_xlabel("generation")
    ax.set_ylabel("return R (s)")
    ax.set_ylim(-P.DEFAULT.duration - 0.5, P.DEFAULT.duration + 0.5)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("pendulum swing-up: return per generation")
    return fig


def _trajectory_figure(seeds, runs) -> Figure:
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    p = P.DEFAULT
    for k, (s, r) in enumerate(zip(seeds, runs, strict=True)):
        t = (np.arange(r.theta.shape[0]) + 1) * p.dt
        shown = P.wrap(r.theta)
        shown[1:][np.abs(np.diff(shown)) > np.pi] = np.nan  # no vertical line where the wrap jumps at the bottom
        left.plot(t, shown, color=f"C{k}", label=f"seed {s}")
        right.plot(t, r.u, color=f"C{k}", label=f"seed {s}")
    left.axhspan(-0.1, 0.1, color="0.85", label="|theta| < 0.1 rad")
    left.axvline(p.duration / 2, color="k", lw=0.8, ls="--")
    left.set_xlabel("t (s)")
    left.set_ylabel("theta (rad, 0 = upright)")
    left.set_title("learned policy from the hanging start")
    left.legend(fontsize=8)
    right.axhline(p.u_max, color="k", lw=0.8, ls="--")
    right.axhline(-p.u_max, color="k", lw=0.8, ls="--")
    right.set_xlabel("t (s)")
    right.set_ylabel("torque u (N m)")
    right.set_title(f"torque, |u| <= {p.u_max:g} N m < m g l = {p.mass * p.g * p.length:.2f} N m")
    return fig


# --- gates by the genetic algorithm ---------------------------------------------------------------------------

GATE_HIDDEN = 4
GATE_SETTINGS = {"strategy": "ga", "popsize": 64, "sigma": 0.5}


def gate_forward(params, x):
    """p = sigmoid(sigmoid(x W1 + b1) W2 + b2), x [batch, 2] -> [batch]."""
    h = jax.nn.sigmoid(x @ params["W1"] + params["b1"][None, :])
    return jax.nn.sigmoid(h @ params["W2"] + params["b2"][None, :])[:, 0]


def _gate_loss(target: np.ndarray):
    t = np.asarray(target, np.float32)

    def loss(params):
        """Binary cross-entropy -mean[t ln p + (1 - t) ln(1 - p)] on the four points."""
        q = jnp.clip(gate_forward(params, X), 1e-7, 1 - 1e-7)
        return -jnp.mean(t * jnp.log(q) + (1 - t) * jnp.log(1 - q))

    return loss


GATE_LOSSES = {gate: _gate_loss(target) for gate, target in GATES.items()}  # module level: compiled once each


def init_gate_network(seed: int, hidden: int = GATE_HIDDEN) -> dict:
    """W1 [2, hidden], W2 [hidden, 1] Glorot-uniform from ``initializers.generator(seed)``; biases 0."""
    rng = initializers.generator(seed)
    return {"W1": initializers.glorot_uniform(rng, (2, hidden)).astype(np.float32), "b1": np.zeros(hidden, np.float32),
            "W2": initializers.glorot_uniform(rng, (hidden, 1)).astype(np.float32), "b2": np.zeros(1, np.float32)}


@experiment("evolve_gates", "XOR/AND/OR with one hidden layer learned by a genetic algorithm, no gradients")
def evolve_gates(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """Seeds seed..seed+4, one network per gate and seed (``epochs``: generations; quick 150, full 300).

    Metrics: ``<gate>_acc_min`` (lowest accuracy over the seeds), ``seeds_all_gates_100`` (seeds with 100 % on
    all three gates), ``<gate>_loss_max``."""
    seed = _checks.seed("seed", seed)
    generations = epochs or (150 if quick else 300)
    seeds = [seed + k for k in range(5)]
    acc = {gate: [] for gate in GATES}
    losses = {gate: [] for gate in GATES}
    curves, surfaces = {}, {}
    gx, gy = np.meshgrid(GRID, GRID)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    t0 = time.perf_counter()
    for s in seeds:
        params = init_gate_network(s)
        for gate, target in GATES.items():
            r = evolve.minimize(GATE_LOSSES[gate], params, generations=generations, seed=s, **GATE_SETTINGS)
            acc[gate].append(float(np.mean((np.asarray(gate_forward(r.params, X)) > 0.5) == target)))
            losses[gate].append(r.loss)
            if s == seed:
                curves[gate] = r.history["best"]
                surfaces[gate] = np.asarray(gate_forward(r.params, points)).reshape(gx.shape)
    seconds = time.perf_counter() - t0
    metrics = {f"{gate.lower()}_acc_min": min(acc[gate]) for gate in GATES}
    metrics["seeds_all_gates_100"] = float(sum(all(acc[g][k] == 1.0 for g in GATES) for k in range(len(seeds))))
    metrics.update({f"{gate.lower()}_loss_max": max(losses[gate]) for gate in GATES})
    metrics.update({"seeds": float(len(seeds)), "generations": float(generations), "seconds": seconds})
    rows = ["gate,seed,accuracy,cross_entropy"] + [f"{g},{s},{acc[g][k]:.4f},{losses[g][k]:.6g}"
                                                   for g in GATES for k, s in enumerate(seeds)]
    return Result(metrics, {"decision_boundaries": _gates_figure(gx, gy, surfaces, curves, seed)},
                  {"accuracies": "\n".join(rows) + "\n"}, headline="seeds_all_gates_100")


def _gates_figure(gx, gy, surfaces, curves, seed) -> Figure:
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axes = fig.subplots(1, 4)
    for ax, (gate, target) in zip(axes, GATES.items()):
        image = ax.contourf(gx, gy, surfaces[gate], levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
        ax.contour(gx, gy, surfaces[gate], levels=[0.5], colors="k", linewidths=1.2)
        ax.scatter(X[:, 0], X[:, 1], c=target, cmap="RdBu_r", vmin=0, vmax=1, edgecolors="k", s=80)
        ax.set_title(f"{gate}: GA, {GATE_HIDDEN} hidden units (seed {seed})")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    fig.colorbar(image, ax=axes[:3], label="p(y = 1)", shrink=0.8)
    for gate, best in curves.items():
        axes[3].semilogy(np.arange(1, best.shape[0] + 1), np.maximum(best, 1e-12), label=gate)
    axes[3].set_xlabel("generation")
    axes[3].set_ylabel("cross-entropy of the best member")
    axes[3].legend()
    return fig


# --- spectrum by CMA-ES -------------------------------------------------------------------------------------

LOW, HIGH, BINS, EVENTS = 0.0, 10.0, 50, 2000
TRUE_SPECTRUM = (0.25, 6.0, 0.5)  # f, mu, s
START = (0.5, 5.0, 1.0)
NAMES = ("f", "mu", "s")


def generate_events(seed: int, n: int = EVENTS, truth=TRUE_SPECTRUM) -> np.ndarray:
    """n events of p(x | f, mu, s) on [LOW, HIGH): a Binomial(n, f) number from the Gaussian (redrawn where it
    falls outside the range), the rest uniform. NumPy's ``default_rng(seed)``."""
    seed = _checks.seed("seed", seed)
    n = _checks.count("n", n, maximum=10**8)
    f, mu, s = (float(v) for v in truth)
    if not (0 <= f <= 1 and LOW < mu < HIGH and s > 0):
        raise ValueError(f"truth must be (f, mu, s) with 0 <= f <= 1, {LOW} < mu < {HIGH}, s > 0, received {truth!r}")
    rng = np.random.default_rng(seed)
    n_peak = int(rng.binomial(n, f))
    peak = rng.normal(mu, s, n_peak)
    while np.any(out := (peak < LOW) | (peak >= HIGH)):
        peak[out] = rng.normal(mu, s, int(out.sum()))
    return np.concatenate([peak, rng.uniform(LOW, HIGH, n - n_peak)])


def unbinned_nll(p, x: np.ndarray) -> float:
    """-ln L = -sum_j ln p(x_j | f, mu, s) (float64 NumPy / scipy)."""
    from scipy import special

    f, mu, s = p
    z = special.ndtr((HIGH - mu) / s) - special.ndtr((LOW - mu) / s)
    pdf = f * np.exp(-0.5 * ((x - mu) / s) ** 2) / (s * np.sqrt(2 * np.pi) * z) + (1 - f) / (HIGH - LOW)
    return float(-np.sum(np.log(pdf)))


def binned_nll(counts: np.ndarray, edges: np.ndarray):
    """The binned Poisson -ln L of the module docstring as a function of p = (f, mu, s) (JAX); NaN outside
    0 < f < 1, LOW < mu < HIGH, s > 0.01, so such members rank last."""
    counts = np.asarray(counts, np.float32)
    edges = np.asarray(edges, np.float32)
    total = float(counts.sum())
    log_term = np.where(counts > 0, counts * np.log(np.maximum(counts, 1)), 0.0).astype(np.float32)

    def nll(p):
        f, mu, s = p[0], p[1], p[2]
        cdf = jax.scipy.special.ndtr((edges - mu) / s)
        nu = total * (f * jnp.diff(cdf) / (cdf[-1] - cdf[0]) + (1 - f) * jnp.diff(edges) / (HIGH - LOW))
        value = jnp.sum(nu - counts + log_term - counts * jnp.log(nu))
        ok = (f > 0) & (f < 1) & (mu > LOW) & (mu < HIGH) & (s > 0.01)
        return jnp.where(ok, value, jnp.nan)

    return nll


def scipy_fit(x: np.ndarray, start=START):
    """scipy's unbinned maximum-likelihood fit (L-BFGS-B, bounds 1e-4 < f < 1 - 1e-4, LOW < mu < HIGH,
    0.02 < s < 5) and its errors sqrt(diag H^-1), H the central-difference Hessian of -ln L (steps 1e-4 max(1,
    |p_i|)). Returns (estimate [3], errors [3], scipy's OptimizeResult)."""
    from scipy import optimize

    fit = optimize.minimize(unbinned_nll, np.asarray(start, np.float64), args=(x,), method="L-BFGS-B",
                            bounds=[(1e-4, 1 - 1e-4), (LOW, HIGH), (0.02, 5.0)])
    p = fit.x
    h = 1e-4 * np.maximum(1.0, np.abs(p))
    e = np.eye(3) * h[:, None]
    hess = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            hess[i, j] = (unbinned_nll(p + e[i] + e[j], x) - unbinned_nll(p + e[i] - e[j], x)
                          - unbinned_nll(p - e[i] + e[j], x) + unbinned_nll(p - e[i] - e[j], x)) / (4 * h[i] * h[j])
    return p, np.sqrt(np.diag(np.linalg.inv(hess))), fit


@experiment("evolve_spectrum", "Peak on a background: CMA-ES on the binned Poisson likelihood vs scipy's unbinned ML")
def evolve_spectrum(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """One sample of events (``seed``), both fits (``epochs``: CMA-ES generations; quick 150, full 300).

    Metrics: the CMA-ES estimate, scipy's estimate and error of each parameter, ``pull_<p>`` = (CMA-ES - scipy)
    / scipy's error, ``max_abs_pull`` (the target: < 1), and the wall time of the CMA-ES search."""
    seed = _checks.seed("seed", seed)
    generations = epochs or (150 if quick else 300)
    x = generate_events(seed)
    counts, edges = np.histogram(x, BINS, (LOW, HIGH))
    t0 = time.perf_counter()
    cma = evolve.minimize(binned_nll(counts, edges), np.asarray(START, np.float32), strategy="cma_es",
                          generations=generations, popsize=16, sigma=0.3, seed=seed)
    seconds = time.perf_counter() - t0
    estimate = np.asarray(cma.params, np.float64)
    ml, errors, fit = scipy_fit(x)
    pulls = (estimate - ml) / errors
    metrics = {}
    for k, name in enumerate(NAMES):
        metrics.update({f"cma_{name}": float(estimate[k]), f"scipy_{name}": float(ml[k]),
                        f"scipy_err_{name}": float(errors[k]), f"pull_{name}": float(pulls[k]),
                        f"true_{name}": float(TRUE_SPECTRUM[k])})
    metrics.update({"max_abs_pull": float(np.max(np.abs(pulls))), "binned_nll": cma.loss,
                    "scipy_converged": float(fit.success), "cma_seconds": seconds, "events": float(x.shape[0]),
                    "generations": float(generations)})
    rows = ["parameter,true,cma_es_binned,scipy_unbinned,scipy_error,pull"] + [
        f"{n},{TRUE_SPECTRUM[k]},{estimate[k]:.6f},{ml[k]:.6f},{errors[k]:.6f},{pulls[k]:.4f}"
        for k, n in enumerate(NAMES)]
    return Result(metrics, {"fit": _spectrum_figure(counts, edges, estimate, ml, errors, cma.history["best"])},
                  {"estimates": "\n".join(rows) + "\n"}, headline="max_abs_pull")


def _expected(p, edges, total):
    from scipy import special

    f, mu, s = p
    cdf = special.ndtr((edges - mu) / s)
    return total * (f * np.diff(cdf) / (cdf[-1] - cdf[0]) + (1 - f) * np.diff(edges) / (HIGH - LOW))


def _spectrum_figure(counts, edges, estimate, ml, errors, best) -> Figure:
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    centres = 0.5 * (edges[1:] + edges[:-1])
    left.errorbar(centres, counts, yerr=np.sqrt(np.maximum(counts, 1)), fmt="k.", label="events")
    label = ", ".join(f"{n} = {v:.3f}" for n, v in zip(NAMES, estimate, strict=True))
    left.step(edges, np.append(_expected(estimate, edges, counts.sum()), np.nan), where="post", color="C0",
              label=f"CMA-ES, binned: {label}")
    label = ", ".join(f"{n} = {v:.3f} ± {e:.3f}" for n, v, e in zip(NAMES, ml, errors, strict=True))
    left.step(edges, np.append(_expected(ml, edges, counts.sum()), np.nan), where="post", color="C1", ls="--",
              label=f"scipy, unbinned: {label}")
    left.set_xlabel("x")
    left.set_ylabel(f"events per bin (width {edges[1] - edges[0]:g})")
    left.legend(fontsize=7)
    right.semilogy(np.arange(1, best.shape[0] + 1), best - np.min(best) + 1e-3)
    right.set_xlabel("generation")
    right.set_ylabel("-ln L_bin(best member) - min + 1e-3")
    right.set_title("CMA-ES convergence")
    return fig


# --- digits: OpenAI-ES and the genetic algorithm vs Adam --------------------------------------------------------

DIGITS_HIDDEN = 32
DIGITS_ES = {"popsize": 256, "sigma": 0.05, "learning_rate": 0.05}
DIGITS_GA = {"popsize": 64, "sigma": 0.03}
DIGITS_ADAM = {"learning_rate": 1e-2, "batch_size": 32}
DIGITS_GENERATIONS = {"openai_es": (40, 200), "ga": (40, 600), "adam": (5, 50)}  # (quick, full); Adam: epochs


def digits_split():
    """scikit-learn's 8x8 digits, pixels / 16 in [0, 1], split 75/25 stratified with ``random_state=0``.

    Returns:
        (x_train [1347, 64], x_test [450, 64], y_train [1347], y_test [450]) float32 inputs, integer labels.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, stratify=digits.target,
                                                        random_state=0)
    return x_train, x_test, y_train, y_test


def digits_model(seed: int):
    """The digits MLP 64-32-10: p = softmax(tanh(x W1 + b1) W2 + b2), a ``physnn.Sequential`` (Glorot-uniform
    weights from ``seed``)."""
    from physnn import Sequential
    from physnn.layers import Dense, Input

    return Sequential([Input((64,)), Dense(DIGITS_HIDDEN, activation="tanh"), Dense(10, activation="softmax")],
                      seed=seed)


def _train_digits(method: str, seed: int, steps: int, data):
    """One fit of ``digits_model(seed)`` on the categorical cross-entropy L = -1/B sum_b ln p_{b, y_b}.

    "openai_es" / "ga": ``evolve.OpenES(**DIGITS_ES)`` / ``evolve.SimpleGA(**DIGITS_GA)`` as the model's optimiser,
    batch = the whole training set, so each epoch of ``fit`` is one generation (the fitness of a member is L on the
    1347 training images); "adam": ``optimizers.Adam`` on minibatches of 32, ``steps`` epochs. Returns (test
    accuracy per epoch, training loss per epoch, seconds of the fit)."""
    from physnn import optimizers
    from physnn.utils import to_categorical

    x_train, x_test, y_train, y_test = data
    model = digits_model(seed)
    if method == "openai_es":
        optimizer, batch_size = evolve.OpenES(**DIGITS_ES, seed=seed), x_train.shape[0]
    elif method == "ga":
        optimizer, batch_size = evolve.SimpleGA(**DIGITS_GA, seed=seed), x_train.shape[0]
    else:
        optimizer, batch_size = optimizers.Adam(DIGITS_ADAM["learning_rate"]), DIGITS_ADAM["batch_size"]
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    history = model.fit(x_train, to_categorical(y_train, 10), epochs=steps, batch_size=batch_size, verbose=0,
                        validation_data=(x_test, to_categorical(y_test, 10)), seed=seed)
    seconds = time.perf_counter() - t0
    return np.asarray(history.history["val_accuracy"]), np.asarray(history.history["loss"]), seconds


@experiment("evolve_digits", "Digits MLP 64-32-10 tanh: OpenAI-ES (population 256) and a GA vs Adam, no gradients")
def evolve_digits(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """OpenAI-ES, the genetic algorithm and Adam on the digits MLP (``digits_split``, ``digits_model``).

    ``epochs`` (when given) sets the generations of both strategies and Adam's epochs; otherwise quick / full
    use ``DIGITS_GENERATIONS``. Metrics: ``<method>_test_accuracy`` (the last epoch's), ``<method>_best_test_
    accuracy``, ``<method>_seconds`` (wall time of the fit, compilation included), ``<method>_steps``,
    ``openai_es_generations_to_97`` (first generation with test accuracy >= 0.97, or inf)."""
    seed = _checks.seed("seed", seed)
    if epochs is not None:
        epochs = _checks.count("epochs", epochs, maximum=10**6)
    data = digits_split()
    metrics, curves = {}, {}
    for method, (n_quick, n_full) in DIGITS_GENERATIONS.items():
        steps = epochs or (n_quick if quick else n_full)
        acc, loss, seconds = _train_digits(method, seed, steps, data)
        curves[method] = (acc, loss)
        metrics.update({f"{method}_test_accuracy": float(acc[-1]), f"{method}_best_test_accuracy": float(acc.max()),
                        f"{method}_final_loss": float(loss[-1]), f"{method}_seconds": seconds,
                        f"{method}_steps": float(steps)})
    reached = np.nonzero(curves["openai_es"][0] >= 0.97)[0]
    metrics["openai_es_generations_to_97"] = float(reached[0] + 1) if reached.size else float("inf")
    rows = ["method,step,test_accuracy,train_loss"] + [f"{m},{k + 1},{a:.4f},{v:.6g}" for m, (acc, loss)
                                                       in curves.items() for k, (a, v) in enumerate(zip(acc, loss))]
    return Result(metrics, {"learning_curves": _digits_figure(curves)}, {"learning_curves": "\n".join(rows) + "\n"},
                  headline="openai_es_test_accuracy")


DIGITS_LABELS = {"openai_es": f"OpenAI-ES (pop {DIGITS_ES['popsize']}), per generation",
                 "ga": f"GA (pop {DIGITS_GA['popsize']}), per generation", "adam": "Adam (batch 32), per epoch"}


def _digits_figure(curves) -> Figure:
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    for k, (method, (acc, loss)) in enumerate(curves.items()):
        steps = np.arange(1, acc.shape[0] + 1)
        left.plot(steps, acc, color=f"C{k}", label=DIGITS_LABELS[method])
        right.semilogy(steps, np.maximum(loss, 1e-12), color=f"C{k}", label=DIGITS_LABELS[method])
    left.axhline(0.97, color="k", lw=0.8, ls="--", label="0.97")
    left.set_xscale("log")
    left.set_xlabel("generation / epoch")
    left.set_ylabel("test accuracy (450 images)")
    left.set_ylim(0, 1)
    left.legend(fontsize=7)
    left.set_title("digits MLP 64-32-10 tanh")
    right.set_xscale("log")
    right.set_xlabel("generation / epoch")
    right.set_ylabel("training cross-entropy")
    right.legend(fontsize=7)
    return fig
