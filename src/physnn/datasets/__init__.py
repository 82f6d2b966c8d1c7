"""Data sets: loaders for the course data shipped in ``data/`` and generators of synthetic physics data.

Shipped (``data/SOURCES.md`` holds the attribution, CC BY-NC 4.0, and the known defects):
    :func:`eos`, :func:`vary_dimension`, :func:`rbm_energy`, :func:`quantum_dot_energies`.
Chaotic series for reservoir computing (``chaos.py``): :func:`mackey_glass_t17`, :func:`santafe_laser`
(shipped, MIT, see ``data/SOURCES.md``) and the compiled RK4 generators :func:`mackey_glass`, :func:`lorenz63`,
:func:`lorenz96`.
Generated (seeded with ``np.random.default_rng(seed)``):
    :func:`damped_oscillator`, :func:`logic_gates`, :func:`projectile`, :func:`infinite_well`, :func:`spring`,
    :func:`glitched_oscillator`, :func:`sine_with_peak`.
The 2-D Ising model (``ising.py``): :func:`ising`, compiled checkerboard Metropolis Monte Carlo, with Onsager's
:func:`onsager_magnetization` and :func:`onsager_energy`.
"""

from physnn.datasets.chaos import lorenz63, lorenz96, mackey_glass, mackey_glass_t17, santafe_laser
from physnn.datasets.ising import T_CRITICAL, Ising, ising, onsager_energy, onsager_magnetization
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
    "T_CRITICAL",
    "Defect",
    "EoS",
    "Glitched",
    "InfiniteWell",
    "Ising",
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
    "ising",
    "logic_gates",
    "lorenz63",
    "lorenz96",
    "mackey_glass",
    "mackey_glass_t17",
    "onsager_energy",
    "onsager_magnetization",
    "projectile",
    "quantum_dot_energies",
    "rbm_energy",
    "sine_with_peak",
    "santafe_laser",
    "series_defects",
    "spring",
    "vary_dimension",
]
