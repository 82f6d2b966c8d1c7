"""Handwritten digits (scikit-learn's 8x8 ``load_digits``) with the course FFNN.

FFNN((64, 100, 30, 10), hidden_func=LRELU, output_func=softmax, cost_func=CostCrossEntropy) trained with
Adam(1e-3) on minibatches of about 32 images; inputs standardised with the training set's mean and
standard deviation per pixel; an 80/20 stratified train/held-out split. The held-out set is only watched
(its cost and accuracy per epoch are drawn), never used to choose anything.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from physnn.activations import LRELU, softmax
from physnn.costs import CostCrossEntropy
from physnn.experiments.plots import learning_curves
from physnn.experiments.registry import Result, experiment
from physnn.ffnn import FFNN
from physnn.schedulers import Adam

DIMENSIONS = (64, 100, 30, 10)
BATCH_SIZE = 32
ETA = 1e-3


def load(seed: int):
    """The digits split 80/20 (stratified, ``random_state=seed``) and standardised on the training part.

    Returns:
        (X_train [n, 64], X_test [m, 64], y_train [n], y_test [m], images_test [m, 8, 8]) with integer labels.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    digits = load_digits()
    index = np.arange(len(digits.target))
    train, test = train_test_split(index, test_size=0.2, random_state=seed, stratify=digits.target)
    scaler = StandardScaler().fit(digits.data[train])
    return (scaler.transform(digits.data[train]), scaler.transform(digits.data[test]),
            digits.target[train], digits.target[test], digits.images[test])


@experiment("digits", "8x8 handwritten digits: FFNN (64,100,30,10), leaky ReLU, softmax, Adam")
def digits(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """Train the FFNN; metrics ``test_accuracy`` (held out, >= 0.96 in the full run), ``train_accuracy``."""
    epochs = epochs or (15 if quick else 50)
    X_train, X_test, y_train, y_test, images = load(seed)
    T_train, T_test = np.eye(10)[y_train], np.eye(10)[y_test]
    model = FFNN(DIMENSIONS, hidden_func=LRELU, output_func=softmax, cost_func=CostCrossEntropy, seed=seed)
    batches = max(1, len(X_train) // BATCH_SIZE)
    history = model.fit(X_train, T_train, Adam(ETA), batches=batches, epochs=epochs,
                        X_val=X_test, t_val=T_test, verbose=False)
    predicted = np.argmax(model.predict_proba(X_test), axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    metrics = {
        "test_accuracy": float(np.mean(predicted == y_test)),
        "train_accuracy": float(np.mean(np.argmax(model.predict_proba(X_train), axis=1) == y_train)),
        "final_train_cost": float(history["train_errors"][-1]),
        "final_test_cost": float(history["val_errors"][-1]),
        "epochs": epochs,
    }
    table = "true\\predicted," + ",".join(map(str, range(10))) + "\n" + "".join(
        f"{i}," + ",".join(map(str, row)) + "\n" for i, row in enumerate(confusion))
    return Result(
        metrics=metrics,
        figures={"confusion_matrix": _confusion_figure(confusion),
                 "learning_curves": _curves_figure(history),
                 "misclassified": _misclassified_figure(images, y_test, predicted)},
        tables={"confusion_matrix": table},
        headline="test_accuracy",
    )


def _confusion_figure(confusion) -> Figure:
    fig = Figure(figsize=(5.2, 4.4), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(confusion, cmap="Blues")
    for i in range(10):
        for j in range(10):
            if confusion[i, j]:
                color = "white" if confusion[i, j] > confusion.max() / 2 else "black"
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(f"held-out confusion matrix (accuracy {np.trace(confusion) / confusion.sum():.3f})")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def _curves_figure(history) -> Figure:
    return learning_curves([
        ("cross-entropy", {"training": history["train_errors"], "held out": history["val_errors"]}, True),
        ("accuracy", {"training": history["train_accs"], "held out": history["val_accs"]}, False),
    ], figsize=(9, 3.6))


def _misclassified_figure(images, y_true, y_pred, count: int = 12) -> Figure:
    wrong = np.flatnonzero(y_true != y_pred)[:count]
    fig = Figure(figsize=(9, 2.2), layout="constrained")
    axes = fig.subplots(1, count)
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, wrong, strict=False):
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"{y_true[i]} -> {y_pred[i]}", fontsize=9)
    n_wrong = int(np.sum(y_true != y_pred))
    fig.suptitle(f"misclassified held-out digits ({n_wrong}; true -> predicted)")
    return fig


@experiment("lr_sweep", "a 16-trial learning-rate sweep of the digits network, the trials trained together")
def lr_sweep(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """16 learning rates, log-uniform in [1e-4, 1e-1] (Optuna's random sampler, ``physnn.sweep``), of the digits
    network Dense 100 / 30 leaky ReLU / softmax with Adam on ``load``'s standardised digits, 20 epochs each,
    batch 32, validation split 0.2; the 16
    trials train together in one vmapped program (``learning_rate_objective``, ``batch=16``). Metrics: the best
    learning rate and its validation accuracy, the sweep's wall time (measured again warm: issue target <= 1.5 s
    for the 16 trials on 2 cores), and the accuracy of the best rate refitted alone (equal to its trial). Headline
    ``best_val_accuracy``."""
    import time

    import physnn
    from physnn.layers import Dense, Input
    from physnn.sweep import learning_rate_objective, study_figure, study_table, sweep

    epochs = epochs or 20
    X_train, _, y_train, _, _ = load(seed)
    Y = physnn.utils.to_categorical(y_train, 10)

    def network(learning_rate=1e-3, model_seed=seed):
        return physnn.Sequential([Input((64,)), Dense(100, activation="leaky_relu"),
                                  Dense(30, activation="leaky_relu"), Dense(10, activation="softmax")],
                                 seed=model_seed).compile(physnn.optimizers.Adam(learning_rate=learning_rate),
                                                          "categorical_crossentropy", metrics=["accuracy"])

    fit = {"epochs": epochs, "batch_size": 32, "validation_split": 0.2}
    objective = learning_rate_objective(network(), X_train, Y, monitor="val_accuracy", seed=seed, **fit)
    space = {"learning_rate": ("log", 1e-4, 1e-1)}
    seconds = []
    for _ in range(2):  # cold (compiles), then warm
        start = time.perf_counter()
        study = sweep(objective, 16, space=space, batch=16, seed=seed, sampler="random", direction="maximize")
        seconds.append(time.perf_counter() - start)
    best = study.best_trial
    alone = network(best.params["learning_rate"], seed + best.number % 16)
    refit = alone.fit(X_train, Y, verbose=0, **fit).history["val_accuracy"][-1]
    metrics = {"trials": len(study.trials), "epochs": epochs, "best_learning_rate": best.params["learning_rate"],
               "best_val_accuracy": best.value, "refit_alone_val_accuracy": refit,
               "sweep_seconds_cold": seconds[0], "sweep_seconds_warm": seconds[1]}
    fig = study_figure(study, "validation accuracy")
    return Result(metrics, figures={"lr_sweep": fig}, tables={"trials": study_table(study)},
                  headline="best_val_accuracy")
