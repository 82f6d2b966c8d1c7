"""The nuclear equation of state: FFNN regression of the energy per particle on the density.

Data: ``physnn.datasets.eos()`` (90 points, density in fm^-3, energy per particle in MeV). An 80/20
random train/held-out split; density and energy standardised with the training points' mean and standard
deviation; FFNN((1, 32, 32, 1), sigmoid hidden units, identity output, CostOLS) trained full-batch with
Adam(0.01). The held-out R^2 = 1 - sum (E - E_hat)^2 / sum (E - mean E)^2 is measured in MeV.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from physnn.activations import identity, sigmoid
from physnn.costs import CostOLS
from physnn.datasets import eos as load_eos
from physnn.experiments.plots import learning_curves
from physnn.experiments.registry import Result, experiment
from physnn.ffnn import FFNN
from physnn.metrics import r2_score
from physnn.schedulers import Adam

DIMENSIONS = (1, 32, 32, 1)
ETA = 0.01


@experiment("eos", "nuclear equation of state: FFNN regression of energy per particle on density")
def eos(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """Fit the FFNN; metrics ``r2_test`` (held out, >= 0.999 in the full run), ``r2_train``, ``rmse_test``."""
    from sklearn.model_selection import train_test_split

    epochs = epochs or (400 if quick else 2000)
    density, energy = load_eos()
    train, test = train_test_split(np.arange(len(density)), test_size=0.2, random_state=seed)
    x_mean, x_std = density[train].mean(), density[train].std()
    y_mean, y_std = energy[train].mean(), energy[train].std()
    X = ((density - x_mean) / x_std)[:, None]
    T = ((energy - y_mean) / y_std)[:, None]
    model = FFNN(DIMENSIONS, hidden_func=sigmoid, output_func=identity, cost_func=CostOLS, seed=seed)
    history = model.fit(X[train], T[train], Adam(ETA), batches=1, epochs=epochs, X_val=X[test], t_val=T[test],
                        verbose=False)
    predicted = model.predict(X)[:, 0] * y_std + y_mean
    metrics = {
        "r2_test": r2_score(energy[test], predicted[test]),
        "r2_train": r2_score(energy[train], predicted[train]),
        "rmse_test": float(np.sqrt(np.mean((energy[test] - predicted[test]) ** 2))),
        "rmse_train": float(np.sqrt(np.mean((energy[train] - predicted[train]) ** 2))),
        "epochs": epochs,
    }
    grid = np.linspace(density.min(), density.max(), 400)
    curve = model.predict(((grid - x_mean) / x_std)[:, None])[:, 0] * y_std + y_mean
    split = np.full(len(density), "train", dtype=object)
    split[test] = "test"
    table = "density,energy,predicted,split\n" + "".join(
        f"{d!r},{e!r},{p!r},{s}\n" for d, e, p, s in zip(density, energy, predicted.astype(float), split,
                                                           strict=True))
    return Result(
        metrics=metrics,
        figures={"fit": _fit_figure(density, energy, train, test, grid, curve, predicted),
                 "cost_curves": _curves_figure(history)},
        tables={"predictions": table},
        headline="r2_test",
    )


def _fit_figure(density, energy, train, test, grid, curve, predicted) -> Figure:
    fig = Figure(figsize=(9.5, 3.8), layout="constrained")
    ax, ax_res = fig.subplots(1, 2)
    ax.plot(grid, curve, "-", color="tab:red", lw=1.5, label="FFNN")
    ax.plot(density[train], energy[train], "o", ms=3.5, color="k", label="training data")
    ax.plot(density[test], energy[test], "s", ms=5, mfc="none", color="tab:blue", label="held-out data")
    ax.set_xlabel(r"density $\rho$ [fm$^{-3}$]")
    ax.set_ylabel("energy per particle [MeV]")
    ax.set_title("equation of state")
    ax.legend()
    ax_res.axhline(0, color="0.6", lw=1)
    ax_res.plot(density[train], energy[train] - predicted[train], "o", ms=3.5, color="k", label="training")
    ax_res.plot(density[test], energy[test] - predicted[test], "s", ms=5, mfc="none", color="tab:blue",
                label="held out")
    ax_res.set_xlabel(r"density $\rho$ [fm$^{-3}$]")
    ax_res.set_ylabel("residual E - E_hat [MeV]")
    ax_res.set_title("residuals")
    ax_res.legend()
    return fig


def _curves_figure(history) -> Figure:
    return learning_curves([
        ("MSE (standardised energy)", {"training": history["train_errors"], "held out": history["val_errors"]}, True),
    ], figsize=(6, 3.8))


@experiment("eos_replicas", "the equation of state with a 68 % band from 100 bootstrap replicas, and held-out pulls")
def eos_replicas(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """100 replicas of Sequential(Dense 32 sigmoid, Dense 32 sigmoid, Dense 1) (the ``eos`` network), each
    trained full-batch with Adam(0.01) for 2000 epochs (also in the quick run) on a bootstrap resample of the
    training points, in one vmapped program (``physnn.ensemble.fit_replicas``). Metrics: the held-out pulls
    (E - mean) / std (``pull_mean``, ``pull_width``: their standard deviation, about 1 for honest error bars),
    the held-out RMSE of the ensemble mean (MeV), the median 68 % band width relative to the energy, and the
    training time. Headline ``pull_width``."""
    import time

    from sklearn.model_selection import train_test_split

    import physnn
    from physnn.ensemble import fit_replicas
    from physnn.layers import Dense, Input

    epochs, replicas = epochs or 2000, 100  # (the quick run too: the compile dominates, 400 epochs underfit)
    density, energy = load_eos()
    train, test = train_test_split(np.arange(len(density)), test_size=0.2, random_state=seed)
    x_mean, x_std = density[train].mean(), density[train].std()
    y_mean, y_std = energy[train].mean(), energy[train].std()
    X = ((density - x_mean) / x_std)[:, None].astype(np.float32)
    T = ((energy - y_mean) / y_std)[:, None].astype(np.float32)
    model = physnn.Sequential([Input((1,)), Dense(32, activation="sigmoid"), Dense(32, activation="sigmoid"),
                               Dense(1)], seed=seed).compile(physnn.optimizers.Adam(learning_rate=ETA), "mse")
    start = time.perf_counter()
    ensemble = fit_replicas(model, X[train], T[train], replicas=replicas, resample="bootstrap", seed=seed,
                            epochs=epochs, batch_size=len(train), shuffle=False)  # (one full batch)
    seconds = time.perf_counter() - start
    grid = np.linspace(density.min(), density.max(), 300)
    members = ensemble.members(((grid - x_mean) / x_std)[:, None])[:, :, 0] * y_std + y_mean
    mean, std = ensemble.predict(X)
    mean, std = mean[:, 0] * y_std + y_mean, std[:, 0] * y_std
    pulls = (energy[test] - mean[test]) / std[test]
    metrics = {"replicas": replicas, "epochs": epochs, "finite_replicas": int(ensemble.finite.sum()),
               "fit_seconds": seconds, "pull_mean": float(pulls.mean()), "pull_width": float(pulls.std()),
               "rmse_test": float(np.sqrt(np.mean((energy[test] - mean[test]) ** 2))),
               "relative_band": float(np.median(std / np.abs(energy)))}

    fig = Figure(figsize=(12, 4), layout="constrained")
    ax_fit, ax_zoom, ax_pull = fig.subplots(1, 3)
    low, high = np.percentile(members, [16, 84], axis=0)
    for ax in (ax_fit, ax_zoom):
        ax.fill_between(grid, low, high, color="C0", alpha=0.3, label="68 % of the replicas")
        ax.plot(grid, members.mean(0), "C0", lw=1, label="replica mean")
        ax.plot(density[train], energy[train], "k.", ms=3, label="training points")
        ax.plot(density[test], energy[test], "rx", ms=4, label="held out")
        ax.set_xlabel("density (fm$^{-3}$)")
    ax_fit.set_ylabel("energy per particle (MeV)")
    ax_fit.legend(fontsize=8)
    ax_fit.set_title(f"{replicas} bootstrap replicas in one program ({seconds:.1f} s)", fontsize=9)
    ax_zoom.set_xlim(0, 0.4)
    inside = density < 0.4
    ax_zoom.set_ylim(energy[inside].min() - 5, energy[inside].max() + 5)
    ax_zoom.set_title("low densities", fontsize=9)
    ax_pull.hist(pulls, bins=np.linspace(-4, 4, 17), density=True, color="C1", alpha=0.7, label="held-out pulls")
    z = np.linspace(-4, 4, 200)
    ax_pull.plot(z, np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi), "k", lw=1, label="N(0, 1)")
    ax_pull.set_xlabel("(E - mean) / std")
    ax_pull.legend(fontsize=8)
    ax_pull.set_title(f"pulls: mean {metrics['pull_mean']:.2f}, width {metrics['pull_width']:.2f}", fontsize=9)
    return Result(metrics, figures={"eos_replicas": fig}, headline="pull_width")
