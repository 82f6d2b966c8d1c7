"""Several processes on one or many hosts training one model: a thin layer over JAX's multi-controller runtime.

Every process runs the same script. ``initialize`` connects them (``jax.distributed.initialize``: with no
arguments JAX reads the cluster's environment under Slurm, Open MPI, or the other clusters it detects; by hand
give the coordinator's address, the process count and this process's index). Afterwards ``jax.devices()`` holds
the devices of every process, and ``model.fit(..., devices="global")`` splits every batch across all of them:
one compiled program per process, XLA's collectives (gloo between CPU hosts) all-reducing the gradient, so every
process ends with the same parameters, equal to a one-process run on as many devices up to rounding.

Every process passes the whole data set to ``fit`` (the same arrays, e.g. loaded from the same file or
generated from the same seed): physnn places it on every device and each device computes its share of each
batch.

By hand, two processes on one machine (the CI test does exactly this)::

    python train.py --process-id 0 &   # each calls physnn.distributed.initialize("127.0.0.1:12355", 2, id)
    python train.py --process-id 1
"""

from __future__ import annotations

import jax

from physnn import _checks

__all__ = ["initialize", "is_coordinator", "process_count", "process_index", "shutdown"]


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, local_device_ids=None, cpu_collectives: str = "gloo") -> None:
    """Connect this process to the others (``jax.distributed.initialize``); call it first, before any other
    JAX work. With no arguments JAX detects the cluster (Slurm, Open MPI, ...).

    Arguments:
        coordinator_address: "host:port" of process 0 (None: from the cluster's environment).
        num_processes: the number of processes (None: detected).
        process_id: this process's index in 0 .. num_processes - 1 (None: detected).
        local_device_ids: the local devices this process uses (None: all).
        cpu_collectives: the CPU backend's cross-process collectives, "gloo" (default) or "mpi" (needs an MPI
            build); ignored on GPUs and TPUs, which have their own.
    """
    if cpu_collectives not in ("gloo", "mpi"):
        raise ValueError(f"cpu_collectives must be 'gloo' or 'mpi', got {cpu_collectives!r}")
    if num_processes is not None:
        num_processes = _checks.count("num_processes", num_processes)
    if process_id is not None:
        process_id = _checks.count("process_id", process_id, 0)
        if num_processes is not None and process_id >= num_processes:
            raise ValueError(f"process_id must be < num_processes = {num_processes}, got {process_id}")
    jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id, local_device_ids=local_device_ids)


def shutdown() -> None:
    """Disconnect (``jax.distributed.shutdown``); optional at the end of a script."""
    jax.distributed.shutdown()


def process_index() -> int:
    """This process's index (0 without ``initialize``)."""
    return jax.process_index()


def process_count() -> int:
    """The number of connected processes (1 without ``initialize``)."""
    return jax.process_count()


def is_coordinator() -> bool:
    """True in process 0: the one that should write files and print reports."""
    return jax.process_index() == 0
