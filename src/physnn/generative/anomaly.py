"""Anomaly detection on time series with an autoencoder trained on normal data.

The series is cut into overlapping windows w_i = (s_i, ..., s_{i+W-1}) (stride 1), standardised with the
training series' mean and standard deviation, and an autoencoder (any physnn model mapping [W] -> [W]) learns to
reconstruct the windows of normal data. Each time step is reconstructed by every window that contains it; its
anomaly score is the mean squared residual of those reconstructions,

    a(t) = (1 / |I_t|) sum_{i in I_t} (w_i[t - i] - w^_i[t - i])^2,   I_t = {i : i <= t < i + W},

which stays where the anomaly is (a window's mean error would spread it over W - 1 steps on each side),
averaged over ``smooth`` neighbouring steps (a centred moving average) so that a single noisy step is not a span.
The first and last W/2 - 1 steps, reconstructed by fewer than W/2 windows, are scored but never flagged (their
score averages too few reconstructions to be compared with the threshold).
The threshold is a quantile of the training series' scores (default the maximum: no step of the normal training
data is flagged); time steps above it are anomalous, and runs of them are reported as (start, end)
spans in the series' own time. With labels, the ROC AUC of a(t) measures the detection independently of the
threshold.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from physnn.training import prepare_array


class Detection(NamedTuple):
    """What ``AnomalyDetector.detect`` finds: the per-step scores a(t) [T], the threshold, the flags a(t) >
    threshold [T] and the flagged runs as (start time, end time) spans."""

    scores: np.ndarray
    threshold: float
    flags: np.ndarray
    spans: list


def _series(series, name="series") -> np.ndarray:
    x = prepare_array(series, name).astype(np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D time series, got shape {x.shape}")
    return x


class AnomalyDetector:
    """Windows of a series -> an autoencoder's reconstruction errors -> anomalous spans (see the module docstring).

    Arguments:
        window: W, the window length (>= 2).
        model: a physnn model [W] -> [W] (an ``Autoencoder``), compiled or not (uncompiled: Adam on the MSE);
            None builds a dense autoencoder W -> 32 -> ``code`` -> 32 -> W (tanh).
        code: the code size of the default model.
        quantile: the threshold's quantile of the training scores, in (0, 1] (1: their maximum).
        smooth: the moving average's length in steps (1: none; default W // 2).
        seed: the default model's seed.
    """

    def __init__(self, window: int = 32, model=None, code: int = 4, quantile: float = 1.0, smooth=None,
                 seed: int = 0):
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 2:
            raise ValueError(f"AnomalyDetector: window must be an integer >= 2, got {window!r}")
        if isinstance(quantile, bool) or not isinstance(quantile, (int, float)) or not 0.0 < quantile <= 1.0:
            raise ValueError(f"AnomalyDetector: quantile must be in (0, 1], got {quantile!r}")
        self.window, self.quantile = int(window), float(quantile)
        smooth = max(self.window // 2, 1) if smooth is None else smooth
        if isinstance(smooth, bool) or not isinstance(smooth, (int, np.integer)) or not 1 <= smooth <= self.window:
            raise ValueError(f"AnomalyDetector: smooth must be an integer in [1, window], got {smooth!r}")
        self.smooth = int(smooth)
        self.model = model if model is not None else self._default_model(self.window, code, seed)
        if self.model.loss is None:
            self.model.compile("adam", "mse")
        self.mean = self.std = self.threshold = None

    @staticmethod
    def _default_model(window, code, seed):
        from physnn.generative.autoencoder import Autoencoder
        from physnn.layers import Dense, Input
        from physnn.models import Sequential

        encoder = Sequential([Input((window,)), Dense(32, activation="tanh"), Dense(code)])
        decoder = Sequential([Input((code,)), Dense(32, activation="tanh"), Dense(window)])
        return Autoencoder(encoder, decoder, seed=seed)

    def windows(self, series) -> np.ndarray:
        """The standardised windows of ``series``: [T - W + 1, W] (after ``fit``, which sets the scaling)."""
        x = _series(series)
        if len(x) < self.window:
            raise ValueError(f"the series has {len(x)} steps, fewer than the window of {self.window}")
        if self.mean is None:
            raise ValueError("call fit(normal_series) before scoring a series")
        return np.lib.stride_tricks.sliding_window_view((x - self.mean) / self.std, self.window).astype(np.float32)

    def fit(self, series, **fit_kwargs):
        """Train the model to reconstruct the windows of the normal ``series`` (``fit_kwargs`` as ``Module.fit``:
        epochs, batch_size, verbose, seed ...) and set the threshold from their scores. Returns the History."""
        x = _series(series)
        self.mean, self.std = float(np.mean(x)), float(np.std(x)) or 1.0
        w = self.windows(x)
        fit_kwargs.setdefault("verbose", 0)
        history = self.model.fit(w, w, **fit_kwargs)
        self.threshold = float(np.quantile(self.scores(x), self.quantile))
        return history

    def scores(self, series) -> np.ndarray:
        """a(t) [T]: for each time step the mean squared residual of the windows' reconstructions of it."""
        w = self.windows(series)
        residual = (np.asarray(self.model.predict(w), np.float64) - w) ** 2  # [T - W + 1, W]
        n, W = residual.shape
        total, count = np.zeros(n + W - 1), np.zeros(n + W - 1)
        for k in range(W):  # (W vectorised adds: window i's entry k is time step i + k)
            total[k:k + n] += residual[:, k]
            count[k:k + n] += 1
        a = total / count
        if self.smooth == 1:
            return a
        kernel = np.ones(self.smooth) / self.smooth
        weight = np.convolve(np.ones_like(a), kernel, mode="same")  # (the ends average fewer steps)
        return np.convolve(a, kernel, mode="same") / weight

    def detect(self, series, t=None) -> Detection:
        """Score ``series`` and report the steps above the threshold and their spans in the time ``t`` (default
        the step index)."""
        if self.threshold is None:
            raise ValueError("call fit(normal_series) before detect")
        a = self.scores(series)
        t = np.arange(len(a), dtype=np.float64) if t is None else _series(t, "t")
        if len(t) != len(a):
            raise ValueError(f"t has {len(t)} times for a series of {len(a)} steps")
        steps = np.arange(len(a))
        coverage = np.minimum.reduce([steps + 1, len(a) - steps, np.full(len(a), self.window)])
        flags = (a > self.threshold) & (coverage >= self.window // 2)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
        spans = [(float(t[a0]), float(t[a1 - 1])) for a0, a1 in zip(edges[::2], edges[1::2])]
        return Detection(a, self.threshold, flags, spans)

    def roc_auc(self, series, labels) -> float:
        """The ROC AUC of the per-step scores a(t) against ``labels`` [T] (1 anomalous, 0 normal)."""
        from sklearn.metrics import roc_auc_score

        labels = prepare_array(labels, "labels")
        a = self.scores(series)
        if labels.shape != a.shape or not np.isin(labels, (0, 1)).all():
            raise ValueError(f"labels must be 0/1 per time step, shape {a.shape}; got shape {labels.shape}")
        return float(roc_auc_score(labels, a))
