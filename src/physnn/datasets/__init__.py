"""Data sets: loaders for the course data shipped in ``data/`` and generators of synthetic physics data.

Shipped (``data/SOURCES.md`` holds the attribution, CC BY-NC 4.0, and the known defects):
    :func:`eos`, :func:`vary_dimension`, :func:`rbm_energy`, :func:`quantum_dot_energies`.
Generated (seeded with ``np.random.default_rng(seed)``):
    :func:`damped_oscillator`, :func:`logic_gates`, :func:`projectile`, :func:`infinite_well`, :func:`spring`.
"""

from physnn.datasets.shipped import (
    DataDefectWarning,
    Defect,
    EoS,
    QuantumDotEnergies,
    RBMEnergy,
    VaryDimension,
    eos,
    quantum_dot_energies,
    rbm_energy,
    series_defects,
    vary_dimension,
)
from physnn.datasets.synthetic import (
    InfiniteWell,
    LogicGates,
    Oscillation,
    Projectile,
    Spring,
    damped_oscillator,
    infinite_well,
    logic_gates,
    projectile,
    spring,
)

__all__ = [
    "DataDefectWarning",
    "Defect",
    "EoS",
    "InfiniteWell",
    "LogicGates",
    "Oscillation",
    "Projectile",
    "QuantumDotEnergies",
    "RBMEnergy",
    "Spring",
    "VaryDimension",
    "damped_oscillator",
    "eos",
    "infinite_well",
    "logic_gates",
    "projectile",
    "quantum_dot_energies",
    "rbm_energy",
    "series_defects",
    "spring",
    "vary_dimension",
]
