"""Loaders for the course data shipped in ``physnn/datasets/data`` (attribution in ``data/SOURCES.md``).

Every loader returns NumPy float64 arrays exactly as they stand in the file. Files with known defects are
checked on load: the defects are reported with a :class:`DataDefectWarning`, and data are changed only on
request (``clean=True``), and then the change itself is reported too. Nothing is altered silently.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple
from warnings import warn

import numpy as np

__all__ = [
    "DataDefectWarning",
    "Defect",
    "EoS",
    "QuantumDotEnergies",
    "RBMEnergy",
    "VaryDimension",
    "eos",
    "quantum_dot_energies",
    "rbm_energy",
    "series_defects",
    "vary_dimension",
]

# Hartree-Fock reference energies of the 2D quantum dot (frequency 1.0), from data/SOURCES.md.
HARTREE_FOCK = {2: 3.161921401722216, 6: 20.71924844033019}


class DataDefectWarning(UserWarning):
    """A shipped data file has a defect (missing label, label out of sequence, implausible value)."""


class EoS(NamedTuple):
    density: np.ndarray  # [90] fm^-3
    energy: np.ndarray  # [90] MeV per particle


class VaryDimension(NamedTuple):
    x: np.ndarray  # [20] the varied quantity 2, 4, ..., 40
    energy: np.ndarray  # [20] ground-state energy


class RBMEnergy(NamedTuple):
    iteration: np.ndarray  # [n] int labels of the optimisation iterations
    energy: np.ndarray  # [n] variational energy


class QuantumDotEnergies(NamedTuple):
    energy: np.ndarray  # [n_iterations] variational energy per iteration
    variance: np.ndarray  # [n_iterations] its variance
    stderr: np.ndarray  # [n_iterations] sqrt(variance), the error bar plotted in the course
    hartree_fock: float  # Hartree-Fock reference energy


@dataclass(frozen=True)
class Defect:
    """One defect found by :func:`series_defects`.

    Attributes:
        row: 0-based row index in the file (line ``row + 1``).
        label: the label found on that row.
        kind: ``"missing_labels"`` (labels skipped before this row), ``"label_out_of_sequence"``
            (the label does not continue the sequence; ``expected`` holds the label it implies) or
            ``"value_jump"`` (the value differs by more than ``max_jump`` from its neighbours).
        detail: a human-readable description.
        expected: the implied label (out-of-sequence labels) or the missing labels, else ``None``.
    """

    row: int
    label: int
    kind: str
    detail: str
    expected: tuple[int, ...] | None = None


def _read(name: str) -> str:
    return resources.files("physnn.datasets").joinpath("data", name).read_text(encoding="utf-8")


def _load_columns(name: str, delimiter: str | None = None, skiprows: int = 0, ncols: int = 2) -> np.ndarray:
    data = np.loadtxt(io.StringIO(_read(name)), delimiter=delimiter, skiprows=skiprows, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != ncols:
        raise ValueError(f"{name}: expected {ncols} columns, found an array of shape {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError(f"{name}: contains non-finite values")
    return data


def eos() -> EoS:
    """Nuclear-matter equation of state (``EoS.csv``): energy per particle against density.

    Returns:
        ``EoS(density, energy)``: two float64 arrays of shape [90], density in fm^-3 and energy per
        particle in MeV (unpacks as a tuple ``density, energy = eos()``).
    """
    data = _load_columns("EoS.csv", delimiter=",")
    return EoS(data[:, 0].copy(), data[:, 1].copy())


def vary_dimension() -> VaryDimension:
    """The course's 'VaryDimension' series (``vary_dimension_energies.csv``): 20 coupled-cluster energies.

    Returns:
        ``VaryDimension(x, energy)``: float64 arrays of shape [20]; ``x`` = 2, 4, ..., 40. The course trains
        a recurrent network on the first 12 energies and extrapolates the other 8.
    """
    header = _read("vary_dimension_energies.csv").splitlines()[0].strip()
    if header != "x,energy":
        raise ValueError(f"vary_dimension_energies.csv: expected the header 'x,energy', found {header!r}")
    data = _load_columns("vary_dimension_energies.csv", delimiter=",", skiprows=1)
    return VaryDimension(data[:, 0].copy(), data[:, 1].copy())


def series_defects(labels, values, max_jump: float = 0.5, max_missing: int = 10) -> list[Defect]:
    """Check a labelled series (labels meant to run 1, 2, 3, ...) for defects.

    Rules, for consecutive rows ``i-1, i`` with step ``s = label[i] - label[i-1]``:

    * ``1 < s <= max_missing + 1``: the labels in between are missing (rows absent from the file);
    * ``s <= 0`` or ``s > max_missing + 1``: the label is out of sequence (read as a typo in the label);
      the label it implies is ``label[i-1] + 1``;
    * a value whose relative difference ``|v_i - v_j| / |v_j|`` to every neighbour ``j`` exceeds
      ``max_jump`` is flagged as a ``value_jump`` (an isolated outlier, e.g. a lost leading digit).

    Arguments:
        labels: [n] integer-valued labels.
        values: [n] values.
        max_jump: relative change (0.5 = 50 %) above which an isolated value is flagged.
        max_missing: the largest gap read as missing rows rather than as a mistyped label.

    Returns:
        The defects found, in row order (an empty list for a clean series).
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iuf":
        raise ValueError(f"labels must be integer-valued numbers, received dtype {labels.dtype}")
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("values must be numbers") from None
    if labels.ndim != 1 or values.shape != labels.shape:
        raise ValueError(
            "labels and values must be 1-D of equal length, "
            f"received shapes {labels.shape} and {values.shape}"
        )
    if not np.all(labels == np.round(labels)):
        raise ValueError("labels must be integer-valued")
    if isinstance(max_jump, bool) or not isinstance(max_jump, (int, float, np.integer, np.floating)) \
            or not np.isfinite(max_jump) or max_jump <= 0:
        raise ValueError(f"max_jump must be > 0, received {max_jump}")
    if isinstance(max_missing, bool) or not isinstance(max_missing, (int, np.integer)) or max_missing < 0:
        raise ValueError(f"max_missing must be an integer >= 0, received {max_missing!r}")
    labels = labels.astype(np.int64)
    defects: list[Defect] = []
    previous = labels[0] if labels.size else 0  # the last label that was in sequence
    for row in range(1, labels.size):
        step = labels[row] - previous
        if 1 < step <= max_missing + 1:
            missing = tuple(range(previous + 1, labels[row]))
            shown = ", ".join(str(m) for m in missing)
            defects.append(
                Defect(
                    row,
                    int(labels[row]),
                    "missing_labels",
                    f"label{'s' if len(missing) > 1 else ''} {shown} missing before line {row + 1}",
                    missing,
                )
            )
        elif step != 1:
            expected = int(previous + 1)
            defects.append(
                Defect(
                    row,
                    int(labels[row]),
                    "label_out_of_sequence",
                    f"line {row + 1}: label {labels[row]} out of sequence (the sequence implies {expected})",
                    (expected,),
                )
            )
            previous = expected
            continue
        previous = labels[row]
    for row in range(values.size):
        neighbours = [j for j in (row - 1, row + 1) if 0 <= j < values.size]
        if neighbours and all(abs(values[row] - values[j]) > max_jump * abs(values[j]) for j in neighbours):
            around = " and ".join(f"{values[j]:g}" for j in neighbours)
            defects.append(
                Defect(
                    row,
                    int(labels[row]),
                    "value_jump",
                    f"line {row + 1} (label {labels[row]}): value {values[row]:g} differs by more than "
                    f"{max_jump:.0%} from its neighbour{'s' if len(neighbours) > 1 else ''} {around}",
                )
            )
    return sorted(defects, key=lambda d: d.row)


def rbm_energy(clean: bool = False) -> RBMEnergy:
    """Variational energy of a restricted-Boltzmann-machine wave function per iteration (``RMBenergy.dat``).

    The file has known defects (see ``data/SOURCES.md``): label 33 is missing, the row labelled 93 reads
    ``.04819`` (an older version of the file reads ``3.04819``), and the last label is ``1001`` where the
    sequence implies 101. The loader finds them with :func:`series_defects` and always reports them with a
    :class:`DataDefectWarning`.

    Arguments:
        clean: ``False`` (default) returns the file exactly as it is, defects included — no silent change.
            ``True`` relabels out-of-sequence labels with the label the sequence implies (1001 -> 101) and
            drops the rows whose value jumps (label 93); missing rows stay missing (the gap in
            ``iteration`` shows them). The warning then also lists what was changed.

    Returns:
        ``RBMEnergy(iteration, energy)``: int64 labels and float64 energies, shape [100] as in the file
        ([99] with ``clean=True``).
    """
    if not isinstance(clean, (bool, np.bool_)):
        raise ValueError(f"clean must be True or False, received {clean!r}")
    data = _load_columns("RMBenergy.dat")
    iteration = data[:, 0].astype(np.int64)
    energy = data[:, 1].copy()
    defects = series_defects(iteration, energy)
    if not defects:
        return RBMEnergy(iteration, energy)
    message = "RMBenergy.dat has data defects: " + "; ".join(d.detail for d in defects)
    if clean:
        changes = []
        for d in defects:
            if d.kind == "label_out_of_sequence":
                iteration[d.row] = d.expected[0]
                changes.append(f"relabelled line {d.row + 1}: {d.label} -> {d.expected[0]}")
        drop = [d.row for d in defects if d.kind == "value_jump"]
        changes += [f"dropped line {r + 1} (label {iteration[r]}, value {energy[r]:g})" for r in drop]
        keep = np.setdiff1d(np.arange(iteration.size), drop)
        iteration, energy = iteration[keep], energy[keep]
        message += ". clean=True: " + "; ".join(changes) + "; missing labels are left as gaps"
    else:
        message += ". Returned unchanged; rbm_energy(clean=True) relabels and drops the jumping value"
    warn(message, DataDefectWarning, stacklevel=2)
    return RBMEnergy(iteration, energy)


def quantum_dot_energies(n_electrons: int = 2) -> QuantumDotEnergies:
    """Variational energies of electrons in a 2D harmonic quantum dot (frequency 1.0) per iteration.

    Files ``w1.0_D2_N{n}_Energies.txt``: the first column is the energy, the second its variance; the
    standard error plotted in the course is ``stderr = sqrt(variance)``.

    Arguments:
        n_electrons: 2 or 6.

    Returns:
        ``QuantumDotEnergies(energy, variance, stderr, hartree_fock)``: float64 arrays of shape [177]
        (2 electrons) or [164] (6 electrons) and the Hartree-Fock reference energy (3.161921401722216
        for 2 electrons, 20.71924844033019 for 6).
    """
    if isinstance(n_electrons, bool) or n_electrons not in HARTREE_FOCK:
        raise ValueError(f"n_electrons must be 2 or 6, received {n_electrons!r}")
    name = f"w1.0_D2_N{n_electrons}_Energies.txt"
    data = _load_columns(name)
    energy, variance = data[:, 0].copy(), data[:, 1].copy()
    negative = np.flatnonzero(variance < 0)
    if negative.size:
        warn(
            f"{name}: negative variance on lines {', '.join(str(i + 1) for i in negative)}; "
            "their stderr is NaN",
            DataDefectWarning,
            stacklevel=2,
        )
    stderr = np.sqrt(np.where(variance < 0, np.nan, variance))
    return QuantumDotEnergies(energy, variance, stderr, HARTREE_FOCK[n_electrons])
