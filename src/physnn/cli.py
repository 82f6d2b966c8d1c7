"""The ``physnn`` command: the tour of the course experiments, single experiments, tools for your own data.

    physnn tour [--out DIR] [--quick] [--seed N] [--only NAME,...]   every experiment -> DIR/index.html
    physnn list                                                      the experiments, one line each
    physnn run NAME [--epochs N] [--seed N] [--out DIR] [--quick]    one experiment -> DIR/index.html
    physnn fit FILE.csv --target COL [--hidden 64,64] [--task regression|classification] ...
    physnn extrapolate FILE.csv --column NAME --train N --steps K [--model rnn|lstm|gru] ...

Exit status: 0 success, 1 an experiment (or training) failed, 2 bad input (a missing file or column, a
non-numeric value, too few rows, a bad option value). Bad input is reported as one line on stderr
(``physnn: error: ...``), never as a traceback. Set ``PHYSNN_DEBUG=1`` to see the traceback of an
unexpected error. Every output file is written inside the chosen ``--out`` directory (created if needed).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from enum import Enum
from pathlib import Path

import typer

app = typer.Typer(
    name="physnn",
    help="Neural networks for the physical sciences: the course experiments and tools for your own data.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class InputError(ValueError):
    """Bad input from the user: reported as one line on stderr with exit status 2."""


class ExitCode:
    OK, FAILED, BAD_INPUT = 0, 1, 2


def _use_agg():
    """Headless plotting: the Agg backend, before pyplot is imported anywhere."""
    import matplotlib

    matplotlib.use("Agg", force=True)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _stdout_console():
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


# --- CSV input ------------------------------------------------------------------------------------------


class Table:
    """A CSV file read as text: ``header`` (column names) and ``rows`` with their line numbers.

    A first row made only of numbers is taken as data, and the columns are then named "0", "1", ...
    """

    def __init__(self, path: Path, header: list[str], rows: list[list[str]], lines: list[int]):
        self.path, self.header, self.rows, self.lines = path, header, rows, lines

    def __len__(self):
        return len(self.rows)

    def index(self, name: str) -> int:
        if name not in self.header:
            available = ", ".join(self.header)
            raise InputError(f"no column {name!r} in {self.path}; available columns: {available}")
        return self.header.index(name)

    def raw(self, name: str) -> list[str]:
        i = self.index(name)
        return [row[i].strip() for row in self.rows]

    def numeric(self, name: str):
        """The column as a float64 NumPy array; a non-numeric, empty or non-finite value is an InputError."""
        import numpy as np

        values = []
        for text, line in zip(self.raw(name), self.lines, strict=True):
            try:
                value = float(text)
            except ValueError:
                shown = repr(text) if text else "an empty value"
                raise InputError(f"column {name!r} of {self.path}, line {line}: {shown} is not a number") \
                    from None
            if not math.isfinite(value):
                raise InputError(f"column {name!r} of {self.path}, line {line}: {text!r} is not finite")
            values.append(value)
        return np.asarray(values, dtype=np.float64)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv(path) -> Table:
    """Read a comma-separated file with a header row (blank lines skipped); every problem is an InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if not path.is_file():
        raise InputError(f"{path} is not a file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a UTF-8 text (CSV) file") from None
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from None
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    rows, lines = [], []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as err:
        raise InputError(f"{path} line {reader.line_num}: not valid CSV ({err})") from None
    if not rows:
        raise InputError(f"{path} is empty")
    first = [cell.strip() for cell in rows[0]]
    if all(_is_number(cell) for cell in first):
        header = [str(i) for i in range(len(first))]
    else:
        header, rows, lines = first, rows[1:], lines[1:]
        if any(not name for name in header):
            column = header.index("") + 1
            raise InputError(f"{path}: the header row has an empty column name (column {column})")
        duplicates = sorted({name for name in header if header.count(name) > 1})
        if duplicates:
            raise InputError(f"{path}: duplicate column name(s) in the header: {', '.join(duplicates)}")
    for row, line in zip(rows, lines, strict=True):
        if len(row) != len(header):
            raise InputError(f"{path} line {line}: {len(row)} field(s), the header has {len(header)} columns")
    if not rows:
        raise InputError(f"{path} has a header but no data rows")
    return Table(path, header, rows, lines)


def _parse_names(text: str | None, option: str) -> list[str]:
    if text is None:
        return []
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise InputError(f"{option} must be comma-separated names, got {text!r}")
    return names


def _parse_hidden(text: str) -> tuple[int, ...]:
    """'64,64' -> (64, 64); '' or '0' -> () (no hidden layer)."""
    if text.strip() in ("", "0", "none"):
        return ()
    problem = f"--hidden must be comma-separated positive integers such as 64,64, got {text!r}"
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise InputError(problem) from None
    if any(w < 1 for w in widths):
        raise InputError(problem)
    return widths


def _check_positive(value: float, option: str):
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{option} must be a finite number > 0, got {value}")


def _check_epochs(epochs: int):
    from physnn._checks import MAX_EPOCHS

    if epochs > MAX_EPOCHS:
        raise InputError(f"--epochs must be <= {MAX_EPOCHS:,} (physnn's limit), got {epochs}")


def _prepare_out(out: Path) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output directory {out}: {err.strerror or err}") from None
    return out


# --- experiments: list, run, tour ---------------------------------------------------------------------


def discover_experiments():
    """Every experiment and the import errors of modules that failed: (name -> Experiment, module -> error).

    A module that fails to import does not stop the others; the tour reports it as a failed entry.
    """
    from physnn.experiments import registry

    errors = {}
    return registry.all_experiments(errors), errors


def _select(experiments: dict, only: str | None) -> dict:
    names = _parse_names(only, "--only")
    if not names:
        return experiments
    unknown = [n for n in names if n not in experiments]
    if unknown:
        raise InputError(f"no experiment named {', '.join(map(repr, unknown))}; "
                         f"available: {', '.join(experiments)}")
    return {n: experiments[n] for n in names}


def run_experiments(experiments: dict, *, seed: int, quick: bool, epochs: int | None = None,
                    console=None, import_errors: dict | None = None):
    """Run each experiment, catching its failure; returns (results, timings) for ``write_report``.

    A live rich progress display (on stderr) names the running experiment; a line per finished one
    follows. ``import_errors`` (module -> exception) are added as failed entries ``import:<module>``.
    """
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from physnn.experiments.registry import Result
    from physnn.report import error_message, format_value, headline_of

    console = console or _stderr_console()
    results, timings = {}, {}
    for module, err in (import_errors or {}).items():
        results[f"import:{module}"] = err
        timings[f"import:{module}"] = 0.0
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("starting", total=len(experiments))
        for name, exp in experiments.items():
            progress.update(task, description=f"[bold]{escape(name)}[/] {'(quick) ' if quick else ''}")
            start = time.perf_counter()
            try:
                outcome = exp(seed=seed, quick=quick, epochs=epochs)
                if not isinstance(outcome, Result):
                    raise TypeError(f"experiment {name!r} returned {type(outcome).__name__}, not a Result")
            except Exception as err:  # noqa: BLE001 - one failing experiment must not stop the tour
                outcome = err
            timings[name] = time.perf_counter() - start
            results[name] = outcome
            if isinstance(outcome, BaseException):
                progress.console.print(f"[red]x[/] {escape(name)}  failed after {timings[name]:.1f} s: "
                                       f"{escape(error_message(outcome))}", highlight=False)
            else:
                metric, value = headline_of(outcome)
                shown = "" if metric is None else f"{metric} = {format_value(value)}"
                progress.console.print(f"[green]ok[/] {escape(name)}  {timings[name]:.1f} s  {escape(shown)}",
                                       highlight=False)
            progress.advance(task)
    return results, timings


def _summary_table(results: dict, timings: dict, title: str):
    """The tour's console table: experiment, status, headline metric and value (or the error), time."""
    from rich.table import Table as RichTable
    from rich.text import Text

    from physnn.report import error_message, format_value, headline_of

    table = RichTable(title=title)
    table.add_column("experiment", style="bold")
    table.add_column("status")
    table.add_column("headline metric")
    table.add_column("value", justify="right")
    table.add_column("time", justify="right")
    for name, outcome in results.items():
        seconds = f"{timings.get(name, 0.0):.1f} s"
        if isinstance(outcome, BaseException):
            table.add_row(Text(name), Text("failed", style="red"), Text(error_message(outcome)), "", seconds)
        else:
            metric, value = headline_of(outcome)
            table.add_row(Text(name), Text("ok", style="green"), Text(metric or "-"), format_value(value),
                          seconds)
    return table


def _finish(results, timings, descriptions, out: Path, title: str, subtitle: str) -> int:
    from physnn.report import write_report

    index = write_report(results, out, title=title, descriptions=descriptions, timings=timings,
                         subtitle=subtitle)
    console = _stdout_console()
    console.print(_summary_table(results, timings, title))
    failed = [name for name, outcome in results.items() if isinstance(outcome, BaseException)]
    console.print(f"report: {index}   metrics: {index.parent / 'metrics.json'}", highlight=False,
                  markup=False)
    if failed:
        message = f"physnn: {len(failed)} of {len(results)} experiment(s) failed: {', '.join(failed)}"
        _stderr_console().print(message, highlight=False, markup=False)
        return ExitCode.FAILED
    return ExitCode.OK


@app.command("list")
def list_command():
    """List the experiments of the tour with a one-line description each."""
    experiments, errors = discover_experiments()
    console = _stdout_console()
    width = max((len(n) for n in experiments), default=0)
    for name, exp in experiments.items():
        console.print(f"{name:<{width}}  {exp.description}", highlight=False, markup=False)
    for module, err in errors.items():
        console.print(f"(module {module} failed to import: {type(err).__name__}: {err})", highlight=False,
                      markup=False)


@app.command("tour")
def tour_command(
    out: Path = typer.Option(Path("physnn-report"), "--out", help="Report folder (index.html, ...)."),
    quick: bool = typer.Option(False, "--quick", help="Short training (the whole tour in about 2 minutes)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of every random choice."),
    only: str | None = typer.Option(None, "--only", help="Run only these experiments (comma-separated)."),
):
    """Run every experiment, print the headline metrics and write an HTML report."""
    experiments, errors = discover_experiments()
    experiments = _select(experiments, only)
    if only:
        errors = {}
    out = _prepare_out(out)
    _use_agg()
    results, timings = run_experiments(experiments, seed=seed, quick=quick, import_errors=errors)
    descriptions = {name: exp.description for name, exp in experiments.items()}
    subtitle = f"physnn tour{' --quick' if quick else ''} --seed {seed}"
    raise typer.Exit(_finish(results, timings, descriptions, out, "physnn tour", subtitle))


@app.command("run")
def run_command(
    name: str = typer.Argument(..., help="Experiment name (see `physnn list`)."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Override the training length."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of every random choice."),
    out: Path | None = typer.Option(None, "--out", help="Report directory [default: physnn-report-NAME]."),
    quick: bool = typer.Option(False, "--quick", help="Short training."),
):
    """Run one experiment, print its metrics and write its report."""
    if epochs is not None:
        _check_epochs(epochs)
    _use_agg()
    experiments, errors = discover_experiments()
    if name not in experiments:
        broken = f" (modules that failed to import: {', '.join(errors)})" if errors else ""
        raise InputError(f"no experiment named {name!r}; available: {', '.join(experiments)}{broken}")
    out = _prepare_out(out or Path(f"physnn-report-{name}"))
    exp = experiments[name]
    results, timings = run_experiments({name: exp}, seed=seed, quick=quick, epochs=epochs)
    outcome = results[name]
    if not isinstance(outcome, BaseException):
        _print_metrics(f"{name}: metrics", outcome.metrics)
    subtitle = f"physnn run {name}{' --quick' if quick else ''} --seed {seed}"
    subtitle += f" --epochs {epochs}" if epochs else ""
    raise typer.Exit(_finish(results, timings, {name: exp.description}, out, f"physnn run {name}", subtitle))


# --- sweep: an Optuna study from a TOML file ------------------------------------------------------------

SWEEP_KEYS = {"objective", "n_trials", "storage", "study_name", "seed", "sampler", "direction", "pruner", "space",
              "startup_trials"}


def read_sweep_config(path: Path) -> dict:
    """The sweep described by a TOML file: ``objective = "module:function"`` (f(params) -> value), ``n_trials``,
    optional ``storage``, ``study_name``, ``seed``, ``sampler``, ``direction``, ``pruner``, ``startup_trials`` and a
    ``[space]`` table whose entries are ``[low, high]``, ``["log", low, high]``, ``["int", low, high]`` or
    ``{choices = [...]}``."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        config = tomllib.loads(Path(path).read_text())
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path} is not valid TOML: {err}") from None
    unknown = set(config) - SWEEP_KEYS
    if unknown:
        raise InputError(f"{path}: unknown keys {sorted(unknown)}; valid keys are {sorted(SWEEP_KEYS)}")
    for key in ("objective", "n_trials", "space"):
        if key not in config:
            raise InputError(f"{path}: missing {key!r}")
    space = {}
    for name, spec in config["space"].items():
        if isinstance(spec, dict) and set(spec) == {"choices"}:
            space[name] = list(spec["choices"])
        elif isinstance(spec, list):
            space[name] = tuple(spec)
        else:
            raise InputError(f"{path}: space.{name} must be [low, high], ['log', low, high], ['int', low, high] "
                             "or {choices = [...]}")
    config["space"] = space
    return config


def _load_objective(spec: str):
    import importlib

    module, _, name = spec.partition(":")
    if not module or not name:
        raise InputError(f"objective must be 'module:function', got {spec!r}")
    sys.path.insert(0, str(Path.cwd()))  # (a module next to the config, as `python -m` would find it)
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise InputError(f"cannot load the objective {spec!r}: {err}") from None
    if not callable(function):
        raise InputError(f"the objective {spec!r} is not a function")
    return function


@app.command("sweep")
def sweep_command(
    config: Path = typer.Argument(..., metavar="CONFIG.toml", help="The sweep: objective, n_trials, [space], ..."),
    out: Path = typer.Option(Path("physnn-sweep"), "--out", help="Report directory (the trials, the plot)."),
):
    """Run a hyperparameter sweep on Optuna: this worker's n_trials trials, in a study that other workers with
    the same storage and study_name share; then write the study's report."""
    from physnn.experiments.registry import Result
    from physnn.sweep import study_figure, study_table, sweep

    _use_agg()
    settings = read_sweep_config(config)
    objective = _load_objective(settings.pop("objective"))
    try:
        study = sweep(objective, **settings)
    except ValueError as err:
        raise InputError(str(err)) from None
    out = _prepare_out(out)
    done = [t for t in study.trials if t.value is not None]
    metrics = {"trials": len(study.trials), "completed": len(done)}
    if done:
        metrics.update({"best_value": study.best_value, **{f"best_{k}": v for k, v in study.best_params.items()}})
    result = Result(metrics, figures={"sweep": study_figure(study)}, tables={"trials": study_table(study)},
                    headline="best_value" if done else "trials")
    _print_metrics("sweep: metrics", metrics)
    raise typer.Exit(_finish({"sweep": result}, {"sweep": 0.0}, {"sweep": f"Optuna study {study.study_name}"}, out,
                             "physnn sweep", f"physnn sweep {config}"))


# --- fit: the course FFNN on a CSV ---------------------------------------------------------------------


class Task(str, Enum):
    regression = "regression"
    classification = "classification"


class Activation(str, Enum):
    sigmoid = "sigmoid"
    tanh = "tanh"
    relu = "relu"
    lrelu = "lrelu"
    elu = "elu"


def _split(n: int, seed: int, labels=None):
    """Indices of a 60/20/20 train/validation/test split (stratified by ``labels`` when the classes allow)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    index = np.arange(n)

    def cut(idx, size, strat):
        try:
            return train_test_split(idx, test_size=size, random_state=seed, stratify=strat)
        except ValueError:  # a class too small to stratify: plain random split
            return train_test_split(idx, test_size=size, random_state=seed)

    rest, test = cut(index, 0.2, None if labels is None else labels)
    train, val = cut(rest, 0.25, None if labels is None else labels[rest])
    return train, val, test


@app.command("fit")
def fit_command(
    file: Path = typer.Argument(..., metavar="FILE.csv", help="CSV file with a header row."),
    target: str = typer.Option(..., "--target", help="The column to predict."),
    features: str | None = typer.Option(None, "--features",
                                        help="Input columns, comma-separated [default: all others]."),
    hidden: str = typer.Option("64,64", "--hidden", help="Hidden-layer widths, comma-separated (0: none)."),
    task: Task = typer.Option(Task.regression, "--task",
                              help="regression (R², MSE) or classification (accuracy)."),
    activation: Activation = typer.Option(Activation.sigmoid, "--activation",
                                          help="Hidden-layer activation."),
    epochs: int = typer.Option(200, "--epochs", min=1, help="Passes over the training data."),
    eta: float = typer.Option(0.01, "--eta", help="Adam's learning rate."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Minibatch size."),
    lam: float = typer.Option(0.0, "--lam", min=0.0, help="L2 weight decay."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the split, the weights and the shuffling."),
    out: Path = typer.Option(Path("physnn-fit"), "--out", help="Output directory."),
):
    """Train the course FFNN on tabular data: 60/20/20 split, standardised inputs, metrics and a loss curve.

    Writes OUT/metrics.json, OUT/loss_curve.png and OUT/predictions.csv (the test rows).
    """
    import numpy as np

    _check_positive(eta, "--eta")
    _check_epochs(epochs)
    widths = _parse_hidden(hidden)
    table = read_csv(file)
    table.index(target)
    names = _parse_names(features, "--features") or [c for c in table.header if c != target]
    for name in names:
        table.index(name)
    if target in names:
        raise InputError(f"--features must not include the target column {target!r}")
    if not names:
        raise InputError(f"{file} has no column besides the target {target!r} to use as input")
    X = np.column_stack([table.numeric(name) for name in names])
    from physnn._checks import MAX_ELEMENTS
    from physnn.ffnn import check_training_memory, parameter_count

    size = parameter_count((len(names), *widths, 2))
    if size > MAX_ELEMENTS:
        raise InputError(f"--hidden {hidden} with {len(names)} input column(s) gives {size:,} weights, more than "
                         f"physnn's limit of {MAX_ELEMENTS:,} (2**31)")
    check_training_memory((len(names), *widths, 2), len(table))
    if len(table) < 10:
        raise InputError(f"{file} has {len(table)} data rows; fit needs at least 10 (60/20/20 split)")
    classification = task is Task.classification
    if classification:
        raw = table.raw(target)
        if any(not v for v in raw):
            line = table.lines[raw.index("")]
            raise InputError(f"column {target!r} of {file}, line {line}: an empty value is not a class label")
        classes, labels = np.unique(np.asarray(raw), return_inverse=True)
        if all(_is_number(c) for c in classes):  # numeric labels: order them as numbers
            order = np.argsort(classes.astype(float))
            classes, labels = classes[order], np.argsort(order)[labels]
        if len(classes) < 2:
            raise InputError(f"column {target!r} has a single class ({classes[0]!r}); "
                             "classification needs two or more")
        if len(classes) > len(table) // 2:
            raise InputError(f"column {target!r} has {len(classes)} distinct values in {len(table)} rows: "
                             "that looks like a regression target (use --task regression)")
        y = labels
    else:
        y = table.numeric(target)
    out = _prepare_out(out)
    _use_agg()

    from sklearn.preprocessing import StandardScaler

    from physnn.activations import ELU, LRELU, RELU, identity, sigmoid, softmax, tanh
    from physnn.costs import CostCrossEntropy, CostLogReg, CostOLS
    from physnn.ffnn import FFNN
    from physnn.metrics import r2_score
    from physnn.report import save_figure
    from physnn.schedulers import Adam

    train, val, test = _split(len(table), seed, y if classification else None)
    scaler = StandardScaler().fit(X[train])
    Xs = scaler.transform(X)
    if classification:
        k = len(classes)
        T = y[:, None].astype(float) if k == 2 else np.eye(k)[y]
        out_dim, output_func, cost = (1, sigmoid, CostLogReg) if k == 2 else (k, softmax, CostCrossEntropy)
    else:
        y_mean, y_std = y[train].mean(), y[train].std() or 1.0
        T = ((y - y_mean) / y_std)[:, None]
        out_dim, output_func, cost = 1, identity, CostOLS
    functions = {"sigmoid": sigmoid, "tanh": tanh, "relu": RELU, "lrelu": LRELU, "elu": ELU}
    hidden_func = functions[activation.value]
    dims = (X.shape[1], *widths, out_dim)
    model = FFNN(dims, hidden_func=hidden_func, output_func=output_func, cost_func=cost, seed=seed)
    batches = max(1, min(len(train), math.ceil(len(train) / batch_size)))
    history = model.fit(Xs[train], T[train], Adam(eta), batches=batches, epochs=epochs, lam=lam,
                        X_val=Xs[val], t_val=T[val], verbose=sys.stderr.isatty())

    metrics: dict[str, float] = {}
    if classification:
        predicted = model.predict(Xs)
        predicted = predicted[:, 0] if k == 2 else np.argmax(predicted, axis=1)
        for part, idx in (("train", train), ("val", val), ("test", test)):
            metrics[f"accuracy_{part}"] = float(np.mean(predicted[idx] == y[idx]))
        shown_pred = classes[predicted]
        shown_true = classes[y]
    else:
        predicted = model.predict(Xs)[:, 0] * y_std + y_mean
        for part, idx in (("train", train), ("val", val), ("test", test)):
            metrics[f"r2_{part}"] = r2_score(y[idx], predicted[idx])
            metrics[f"mse_{part}"] = float(np.mean((y[idx] - predicted[idx]) ** 2))
        shown_pred, shown_true = predicted, y

    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    epochs_axis = np.arange(1, epochs + 1)
    ax.plot(epochs_axis, history["train_errors"], label="training")
    ax.plot(epochs_axis, history["val_errors"], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel({CostOLS: "MSE (standardised target)", CostLogReg: "cross-entropy",
                   CostCrossEntropy: "cross-entropy"}[cost])
    ax.set_yscale("log")
    ax.set_title(f"FFNN {dims}, {activation.value}, Adam({eta})")
    ax.legend()
    save_figure(fig, out / "loss_curve.png")

    with open(out / "predictions.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", target, "predicted"])
        for i in sorted(test):
            writer.writerow([table.lines[i], shown_true[i], shown_pred[i]])
    summary = {
        "file": str(file), "target": target, "features": names, "task": task.value, "dimensions": list(dims),
        "activation": activation.value, "epochs": epochs, "eta": eta, "batch_size": batch_size, "lam": lam,
        "seed": seed, "rows": {"train": len(train), "val": len(val), "test": len(test)},
        "metrics": {k: (v if math.isfinite(v) else None) for k, v in metrics.items()},
        "final_train_error": float(history["train_errors"][-1]),
        "final_val_error": float(history["val_errors"][-1]),
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    _print_metrics(f"FFNN {dims} on {file.name} -> {target}", metrics)
    written = ", ".join(str(out / name) for name in ("metrics.json", "loss_curve.png", "predictions.csv"))
    _stdout_console().print(f"wrote {written}", highlight=False, markup=False)


def _print_metrics(title: str, metrics: dict):
    """A title line and a two-column table of the metrics on stdout."""
    from rich.table import Table as RichTable
    from rich.text import Text

    from physnn.report import format_value, json_scalar

    table = RichTable()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(Text(str(key)), format_value(json_scalar(value)))
    console = _stdout_console()
    console.print(title, highlight=False, markup=False)
    console.print(table)


# --- extrapolate: a recurrent network rolled out past the data ------------------------------------------


class Cell(str, Enum):
    rnn = "rnn"
    lstm = "lstm"
    gru = "gru"


@app.command("extrapolate")
def extrapolate_command(
    file: Path = typer.Argument(..., metavar="FILE.csv", help="CSV file with a header row."),
    column: str = typer.Option(..., "--column", help="The series to learn."),
    train: int = typer.Option(..., "--train", help="Train on the first N values."),
    steps: int = typer.Option(..., "--steps", help="Predict K steps past the training region."),
    model_kind: Cell = typer.Option(Cell.rnn, "--model", help="Recurrent cell."),
    window: int = typer.Option(4, "--window", help="Input window length (time steps)."),
    units: int = typer.Option(16, "--units", help="Recurrent units."),
    epochs: int = typer.Option(300, "--epochs", help="Training epochs."),
    eta: float = typer.Option(0.01, "--eta", help="Adam's learning rate."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the weights and the shuffling."),
    out: Path = typer.Option(Path("physnn-extrapolate"), "--out", help="Output directory."),
):
    """Train a recurrent network on windows of the first N values and roll it out K steps.

    The series is standardised with the training region's mean and standard deviation. Writes
    OUT/predictions.csv (step, actual where known, predicted), OUT/extrapolation.png (training region
    shaded) and OUT/metrics.json.
    """
    import numpy as np

    for option, value, low in (("--train", train, 1), ("--steps", steps, 1), ("--window", window, 1),
                               ("--units", units, 1), ("--epochs", epochs, 1)):
        if value < low:
            raise InputError(f"{option} must be an integer >= {low}, got {value}")
    _check_positive(eta, "--eta")
    _check_epochs(epochs)
    from physnn._checks import MAX_EXTRAPOLATE_STEPS

    if steps > MAX_EXTRAPOLATE_STEPS:
        raise InputError(f"--steps must be <= {MAX_EXTRAPOLATE_STEPS:,} (physnn's limit), got {steps}")
    from physnn._checks import MAX_ELEMENTS

    gates = {"rnn": 1, "gru": 3, "lstm": 4}[model_kind.value]
    if gates * units * (units + 3) > MAX_ELEMENTS:
        raise InputError(f"--units {units} gives a {model_kind.value} of {gates * units * (units + 3):,} weights "
                         f"(about {gates} x units x (units + 3)), more than physnn's limit of {MAX_ELEMENTS:,} (2**31)")
    table = read_csv(file)
    series = table.numeric(column)
    if train > len(series):
        raise InputError(f"--train {train} exceeds the {len(series)} values of column {column!r}")
    if train < window + 2:
        raise InputError(f"too few rows for the window: --train {train} with --window {window} gives "
                         f"{max(train - window, 0)} training window(s); need --train >= {window + 2}")
    out = _prepare_out(out)
    _use_agg()

    from physnn import layers, sequences
    from physnn.models import Sequential
    from physnn.report import save_figure
    from physnn.schedulers import Adam

    mean, std = series[:train].mean(), series[:train].std() or 1.0
    scaled = (series - mean) / std
    X, y = sequences.windows(scaled[:train], window, horizon=1)
    cell = {"rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[model_kind.value]
    model = Sequential([layers.Input((window, 1)), cell(units), layers.Dense(1)], seed=seed)
    model.compile(optimizer=Adam(eta), loss="mse")
    history = model.fit(X, y, epochs=epochs, batch_size=32, verbose=int(sys.stderr.isatty()))
    rollout = np.asarray(sequences.extrapolate(model, scaled[:train], steps), dtype=float)
    rollout = rollout.reshape(steps, -1)[:, 0]
    predicted = rollout * std + mean
    fitted = np.asarray(model.predict(X)).reshape(len(X), -1)[:, 0] * std + mean

    positions = np.arange(train, train + steps)
    known = positions < len(series)
    metrics = {"train_mse": float(history.history["loss"][-1]) * std**2,
               "fit_rmse": float(np.sqrt(np.mean((fitted - series[window:train]) ** 2)))}
    if known.any():
        error = predicted[known] - series[positions[known]]
        metrics["extrapolation_rmse"] = float(np.sqrt(np.mean(error**2)))
        metrics["compared_steps"] = int(known.sum())

    with open(out / "predictions.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "actual", "predicted"])
        for i, p in zip(positions, predicted, strict=True):
            writer.writerow([int(i), repr(float(series[i])) if i < len(series) else "", repr(float(p))])

    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.axvspan(-0.5, train - 0.5, color="tab:blue", alpha=0.12, label=f"training region (first {train})")
    ax.plot(np.arange(len(series)), series, "o-", color="k", ms=3, lw=1, label=f"{column} (data)")
    ax.plot(np.arange(window, train), fitted, "-", color="tab:blue", lw=1.5, label="one-step fit")
    ax.plot(positions, predicted, "s--", color="tab:red", ms=4, lw=1.5, label=f"{model_kind.value} rollout")
    ax.set_xlabel("step (row)")
    ax.set_ylabel(column)
    ax.set_title(f"{model_kind.value.upper()}({units}), window {window}: {steps} steps past row {train}")
    ax.legend(fontsize=8)
    save_figure(fig, out / "extrapolation.png")

    summary = {"file": str(file), "column": column, "train": train, "steps": steps,
               "model": model_kind.value, "window": window, "units": units, "epochs": epochs, "eta": eta,
               "seed": seed, "metrics": metrics}
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    _print_metrics(f"{model_kind.value.upper()} extrapolation of {column}", metrics)
    written = ", ".join(str(out / name) for name in ("predictions.csv", "extrapolation.png", "metrics.json"))
    _stdout_console().print(f"wrote {written}", highlight=False, markup=False)


# --- entry point ---------------------------------------------------------------------------------------


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _click_exceptions(name: str) -> tuple[type, ...]:
    """The click exception class ``name`` from the click typer runs on (typer >= 0.20 vendors its own)."""
    import importlib

    found = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(found)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the command, turning errors into one line on stderr and an exit status.

    Usage errors and bad input (``InputError``/``ValueError``) exit with 2, failures with 1.
    """
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else list(argv)
    debug = os.environ.get("PHYSNN_DEBUG", "").strip() not in ("", "0")
    try:
        code = command.main(args=args, prog_name="physnn", standalone_mode=False)
    except _click_exceptions("NoArgsIsHelpError") as err:
        print(err.ctx.get_help() if getattr(err, "ctx", None) else err.format_message())
        code = ExitCode.OK
    except _click_exceptions("UsageError") as err:
        print(f"physnn: error: {_one_line(err.format_message())}", file=sys.stderr)
        code = ExitCode.BAD_INPUT
    except _click_exceptions("Abort") + (KeyboardInterrupt,):
        print("physnn: aborted", file=sys.stderr)
        code = 130
    except ValueError as err:  # InputError and the library's argument checks
        if debug:
            raise
        print(f"physnn: error: {_one_line(err)}", file=sys.stderr)
        code = ExitCode.BAD_INPUT
    except Exception as err:  # noqa: BLE001 - a one-line report instead of a traceback
        if debug:
            raise
        from physnn.report import error_message

        print(f"physnn: failed: {_one_line(error_message(err))} (set PHYSNN_DEBUG=1 for the traceback)",
              file=sys.stderr)
        code = ExitCode.FAILED
    sys.stdout.flush()
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


if __name__ == "__main__":
    main()
