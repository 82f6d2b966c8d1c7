"""Logic gates: logistic regression (no hidden layer) against a network with one hidden layer.

The four inputs (x1, x2) in {0, 1}^2 and the targets of XOR, AND and OR. Logistic regression is the FFNN
without hidden layer, p = sigmoid(x W + b), trained on the binary cross-entropy (``CostLogReg``); its
decision boundary is a straight line, so it separates AND and OR but at most 3 of the 4 XOR points
(accuracy <= 0.75). One hidden layer, p = sigmoid(sigmoid(x W1 + b1) W2 + b2), learns all three.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from physnn.activations import sigmoid
from physnn.costs import CostLogReg
from physnn.experiments.registry import Result, experiment
from physnn.ffnn import FFNN
from physnn.schedulers import Adam

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
GATES = {
    "XOR": np.array([0, 1, 1, 0]),
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
}
HIDDEN = 8  # width of the hidden layer (4 units get stuck on XOR for some seeds; 8 learn it for seeds 0-11)
ETA = 0.1  # Adam's learning rate; full-batch training on the 4 points
LAM = 1e-3  # L2 weight decay: keeps the weights finite on the separable gates (else they grow forever)
GRID = np.linspace(-0.25, 1.25, 121, dtype=np.float32)  # where the decision boundaries are drawn


def make_model(hidden: int | None, seed: int) -> FFNN:
    """Logistic regression (``hidden=None``: 2 -> 1) or 2 -> hidden -> 1; sigmoid units, cross-entropy."""
    dims = (2, 1) if hidden is None else (2, hidden, 1)
    return FFNN(dims, hidden_func=sigmoid, output_func=sigmoid, cost_func=CostLogReg, seed=seed)


@experiment("gates", "XOR/AND/OR: logistic regression (no hidden layer) vs one hidden layer")
def gates(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """Train both models on each gate (full batch, Adam).

    Metrics ``<gate>_logreg_acc`` and ``<gate>_hidden_acc`` (accuracy on the four points) for each gate.

    One FFNN per architecture is re-initialised (``reset_weights``) for each gate, so the compiled epoch is
    reused across the three gates.
    """
    epochs = epochs or (300 if quick else 1000)
    gx, gy = np.meshgrid(GRID, GRID)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    metrics, curves, surfaces = {}, {}, {}
    rows = ["gate,model,accuracy,final_cost"]
    for kind, hidden in (("logreg", None), ("hidden", HIDDEN)):
        model = make_model(hidden, seed)
        for gate, target in GATES.items():
            model.reset_weights()
            history = model.fit(X, target[:, None], Adam(ETA), batches=1, epochs=epochs, lam=LAM,
                                verbose=False)
            acc = float(np.mean(model.predict(X).ravel() == target))
            metrics[f"{gate.lower()}_{kind}_acc"] = acc
            curves[gate, kind] = history["train_errors"]
            surfaces[gate, kind] = model.predict_proba(points).reshape(gx.shape)
            rows.append(f"{gate},{kind},{acc:.4f},{history['train_errors'][-1]:.6g}")
    order = [f"{gate.lower()}_{kind}_acc" for gate in GATES for kind in ("logreg", "hidden")]
    return Result(
        metrics={k: metrics[k] for k in order},
        figures={"decision_boundaries": _boundaries_figure(gx, gy, surfaces),
                 "cost_curves": _curves_figure(curves)},
        tables={"accuracies": "\n".join(rows) + "\n"},
        headline="xor_hidden_acc",
    )


def _boundaries_figure(gx, gy, surfaces) -> Figure:
    fig = Figure(figsize=(10, 6.2), layout="constrained")
    axes = fig.subplots(2, 3)
    for col, (gate, target) in enumerate(GATES.items()):
        for row, kind in enumerate(("logreg", "hidden")):
            ax = axes[row, col]
            p = surfaces[gate, kind]
            image = ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
            ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.2)
            ax.scatter(X[:, 0], X[:, 1], c=target, cmap="RdBu_r", vmin=0, vmax=1, edgecolors="k", s=80)
            ax.set_title(f"{gate}: {'no hidden layer' if kind == 'logreg' else f'{HIDDEN} hidden units'}")
            ax.set_xlabel("x1")
            ax.set_ylabel("x2")
    fig.colorbar(image, ax=axes, label="p(y = 1)", shrink=0.8)
    return fig


def _curves_figure(curves) -> Figure:
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    colors = dict(zip(GATES, ("tab:red", "tab:blue", "tab:green"), strict=True))
    for (gate, kind), errors in curves.items():
        label = f"{gate}, {'hidden layer' if kind == 'hidden' else 'no hidden layer'}"
        style = "-" if kind == "hidden" else "--"
        ax.plot(np.arange(1, len(errors) + 1), errors, color=colors[gate], ls=style, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_yscale("log")
    ax.legend(ncol=2, fontsize=8)
    ax.set_title("training cost")
    return fig
