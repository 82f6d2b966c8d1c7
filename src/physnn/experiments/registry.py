"""The experiment registry shared by the tour (``physnn tour``), ``physnn run`` and the tests.

An experiment is a plain function ``fn(seed=0, quick=False, epochs=None) -> Result`` registered with
``@experiment("name", "one-line description")``. ``quick`` must keep it to a few seconds on 2 CPU cores
(the whole quick tour has 2 minutes); ``epochs`` overrides the main training length when given.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

# Modules under physnn.experiments that register experiments, in tour order (every one must exist: a test
# checks that this list and the package's modules agree).
EXPERIMENT_MODULES = ["gates", "digits", "iris", "eos", "sequences", "physics", "unsupervised", "ising",
                      "reservoir", "memory",
                      "evolution"]


@dataclass
class Result:
    """What an experiment returns.

    Attributes:
        metrics: headline numbers, name -> float (JSON-serialisable scalars).
        figures: name -> matplotlib Figure; the report saves each as PNG.
        tables: name -> CSV text (e.g. predictions); the report saves each as ``name.csv``.
        headline: the one metric shown in the tour's summary table.
    """

    metrics: dict[str, float]
    figures: dict = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    headline: str | None = None


@dataclass
class Experiment:
    name: str
    description: str
    fn: Callable[..., Result]

    def __call__(self, seed: int = 0, quick: bool = False, epochs: int | None = None) -> Result:
        return self.fn(seed=seed, quick=quick, epochs=epochs)


_REGISTRY: dict[str, Experiment] = {}


def experiment(name: str, description: str):
    """Decorator registering ``fn(seed, quick, epochs) -> Result`` under ``name``."""

    def register(fn):
        _REGISTRY[name] = Experiment(name, description, fn)
        return fn

    return register


def all_experiments(errors: dict[str, Exception] | None = None) -> dict[str, Experiment]:
    """Every registered experiment, in tour order (imports the experiment modules that exist).

    With ``errors`` (a dict), a module that fails to import is recorded there (module name -> exception)
    instead of raising, so one broken module does not hide the others.
    """
    for module in EXPERIMENT_MODULES:
        try:
            importlib.import_module(f"physnn.experiments.{module}")
        except Exception as err:
            if errors is None:
                raise
            errors[module] = err
    # in the modules' tour order whatever order they were imported in (within a module: registration order)
    rank = {f"physnn.experiments.{m}": i for i, m in enumerate(EXPERIMENT_MODULES)}
    ordered = sorted(_REGISTRY.items(), key=lambda item: rank.get(item[1].fn.__module__, len(rank)))
    return dict(ordered)


def get_experiment(name: str) -> Experiment:
    experiments = all_experiments()
    if name not in experiments:
        raise ValueError(f"no experiment named {name!r}; available: {', '.join(experiments)}")
    return experiments[name]
