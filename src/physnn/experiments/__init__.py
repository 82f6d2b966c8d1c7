"""Course experiments: plain functions returning metrics and figures, shared by the tour and the tests."""

from physnn.experiments.registry import Experiment, Result, all_experiments, experiment, get_experiment

__all__ = ["Experiment", "Result", "all_experiments", "experiment", "get_experiment"]
