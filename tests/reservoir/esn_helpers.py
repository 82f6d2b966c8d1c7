"""Shared by the reservoir tests: a test signal and the closed-loop forecast written out by hand."""

import numpy as np


def signal(T=400, seed=0):
    """A quasi-periodic series with a little noise, [T, 1]."""
    t = np.arange(T)
    return (np.sin(0.21 * t) * np.cos(0.037 * t) + 0.05 * np.random.default_rng(seed).normal(size=T))[:, None]


def forecast_by_hand(esn, context, steps):
    """``esn.forecast(steps, warmup=context)`` by hand: predict over the context from x = 0, then feed each output
    back as the next input. Returns (the forecast [steps, n_out], the last output [1, n_out])."""
    esn.reset()
    y = esn.predict(context)[-1:]
    outputs = [y[0]]
    for _ in range(steps - 1):
        y = esn.predict(y)
        outputs.append(y[0])
    return np.array(outputs), y
