"""The course's Keras example on the iris flowers, written with physnn's Keras-like ``Sequential``.

    model = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train, Y_train, epochs=200, batch_size=8, validation_split=0.2)

150 flowers, 4 measurements, 3 species; a stratified 20 % test split, inputs standardised with the
training part's mean and standard deviation, one-hot targets. ``validation_split`` holds out the last 20 %
of the (already shuffled) training rows, as Keras does.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from physnn.experiments.plots import learning_curves
from physnn.experiments.registry import Result, experiment

BATCH_SIZE = 8


@experiment("iris", "iris flowers: the course's Keras example, Sequential 4 -> 8 relu -> 3 softmax, Adam")
def iris(seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
    """Train the course's Keras model; metrics ``test_accuracy`` (>= 0.93 in the full run) and the last
    epoch's ``accuracy``, ``val_accuracy``, ``loss``, ``val_loss``."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from physnn.layers import Dense, Input
    from physnn.models import Sequential

    epochs = epochs or 200  # quick changes nothing: 200 epochs of this network take a fraction of a second
    data = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.2,
                                                        random_state=seed, stratify=data.target)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    Y_train, Y_test = np.eye(3)[y_train], np.eye(3)[y_test]

    model = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X_train, Y_train, epochs=epochs, batch_size=BATCH_SIZE, validation_split=0.2,
                        verbose=0)
    test_loss, _ = model.evaluate(X_test, Y_test)
    predicted = np.argmax(model.predict(X_test), axis=1)
    logs = history.history
    metrics = {
        "test_accuracy": float(np.mean(predicted == y_test)),
        "test_loss": float(test_loss),
        "accuracy": logs["accuracy"][-1],
        "val_accuracy": logs["val_accuracy"][-1],
        "loss": logs["loss"][-1],
        "val_loss": logs["val_loss"][-1],
        "epochs": epochs,
    }
    rows = ["sepal_length,sepal_width,petal_length,petal_width,species,predicted"]
    raw = scaler.inverse_transform(X_test)
    names = data.target_names
    for features, true, guess in zip(raw, y_test, predicted, strict=True):
        rows.append(",".join(f"{v:.1f}" for v in features) + f",{names[true]},{names[guess]}")
    return Result(
        metrics=metrics,
        figures={"learning_curves": _curves_figure(logs)},
        tables={"test_predictions": "\n".join(rows) + "\n"},
        headline="test_accuracy",
    )


def _curves_figure(logs) -> Figure:
    return learning_curves([
        ("categorical cross-entropy", {"training": logs["loss"], "validation": logs["val_loss"]}, False),
        ("accuracy", {"training": logs["accuracy"], "validation": logs["val_accuracy"]}, False),
    ], figsize=(9, 3.6))
