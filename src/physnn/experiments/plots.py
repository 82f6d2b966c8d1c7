"""Figures shared by the experiments."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def learning_curves(panels, figsize=None) -> Figure:
    """Per-epoch curves, one panel per quantity.

    Arguments:
        panels: list of (ylabel, {curve label: per-epoch values}, log_y) tuples.
        figsize: matplotlib size; default 4.5 inches wide per panel.
    Returns:
        A Figure with the epoch (from 1) on every x axis.
    """
    fig = Figure(figsize=figsize or (4.5 * len(panels) + 1.5, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (ylabel, curves, log_y) in zip(axes, panels):
        for label, values in curves.items():
            ax.plot(np.arange(1, len(values) + 1), values, label=label)
        if log_y:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.legend()
    return fig
