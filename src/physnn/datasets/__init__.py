"""Data sets: loaders for the course data shipped in ``data/`` and generators of synthetic physics data.

Shipped (``data/SOURCES.md`` holds the attribution, CC BY-NC 4.0, and the known defects):
    :func:`eos`, :func:`vary_dimension`, :func:`rbm_energy`, :func:`quantum_dot_energies`.
Chaotic series for reservoir computing (``chaos.py``): :func:`mackey_glass_t17`, :func:`santafe_laser`
(shipped, MIT, see ``data/SOURCES.md``) and the compiled RK4 generators :func:`mackey_glass`, :func:`lorenz63`,
:func:`lorenz96`.
Generated (seeded with ``np.random.default_rng(seed)``):
    :func:`damped_oscillator`, :func:`logic_gates`, :func:`projectile`, :func:`infinite_well`, :func:`spring`.
"""

from physnn.datasets.chaos import lorenz63, lorenz96, mackey_glass, mackey_glass_t17, santafe_laser
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
    Glitched,
    InfiniteWell,
    LogicGates,
    Oscillation,
    Projectile,
    Spring,
    damped_oscillator,
    glitched_oscillator,
    infinite_well,
    logic_gates,
    projectile,
    sine_with_peak,
    spring,
)

__all__ = [
    "DataDefectWarning",
    "Defect",
    "EoS",
    "Glitched",
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
    "glitched_oscillator",
    "infinite_well",
    "logic_gates",
    "lorenz63",
    "lorenz96",
    "mackey_glass",
    "mackey_glass_t17",
    "projectile",
    "quantum_dot_energies",
    "rbm_energy",
    "sine_with_peak",
    "santafe_laser",
    "series_defects",
    "spring",
    "vary_dimension",
]
