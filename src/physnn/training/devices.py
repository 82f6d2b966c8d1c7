"""Data-parallel training: every minibatch split across the devices of a mesh, the parameters replicated.

physnn does not write per-device code (no ``pmap``, no ``shard_map`` with hand-made ``psum``/``pmean``): the
epoch stays one ``jit``-compiled program, the data and parameters are placed with ``NamedSharding``s, and each
minibatch is constrained to be split along its sample axis (``P("data")``). XLA's partitioner then computes
each device's share of the batch and all-reduces the gradient itself, so the gradient is that of the whole
batch, exactly as on one device (up to the order of the floating-point sum).

A batch whose size is not a multiple of the device count (the ragged last batch of an epoch, a small
validation set) is computed replicated on every device instead: still correct, just not split.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


class DataParallel(NamedTuple):
    """A one-axis device mesh ``("data",)`` and the shardings physnn uses on it."""

    mesh: Mesh

    @property
    def size(self) -> int:
        return self.mesh.devices.size

    @property
    def replicated(self) -> NamedSharding:
        return NamedSharding(self.mesh, PartitionSpec())

    @property
    def key(self) -> tuple:
        """What identifies the placement in a cache of compiled programs: the devices, in mesh order."""
        return tuple((d.platform, d.id) for d in self.mesh.devices.flat)

    def split(self, a):
        """``a`` constrained to be split along its first (sample) axis, when the device count divides it; else
        ``a`` as it is (computed replicated). Use inside the compiled program."""
        if np.ndim(a) == 0 or a.shape[0] % self.size:
            return a
        spec = PartitionSpec("data", *([None] * (a.ndim - 1)))
        return jax.lax.with_sharding_constraint(a, NamedSharding(self.mesh, spec))

    def place(self, tree):
        """Every array of ``tree`` replicated on the mesh's devices (None leaves stay None)."""
        return jax.device_put(tree, self.replicated)

    def scatter(self, tree):
        """Every array of ``tree`` [n, ...] placed split along its sample axis, n / size rows per device, when
        the device count divides n; else replicated (``split``'s rule, for data entering a program)."""
        def put(a):
            if np.ndim(a) == 0 or np.shape(a)[0] % self.size:
                return jax.device_put(a, self.replicated)
            return jax.device_put(a, NamedSharding(self.mesh, PartitionSpec("data", *([None] * (np.ndim(a) - 1)))))

        return jax.tree_util.tree_map(put, tree)


    def from_processes(self, tree):
        """Global arrays [P n, ...] split along the sample axis from every process's share [n, ...] of the data
        (``jax.make_array_from_process_local_data``; the shares in process order). Each share must hold the same
        number n of samples, a multiple of this process's devices in the mesh; None leaves stay None."""
        mine = [d for d in self.mesh.devices.flat if d.process_index == jax.process_index()]
        if jax.process_count() > 1 and len(mine) == self.size:
            raise ValueError("local_data=True: the devices hold only this process's devices; use devices='global' "
                             "so that the data set is the shares of every process")

        def put(a):
            a = np.asarray(a)
            if np.ndim(a) == 0 or a.shape[0] % len(mine):
                raise ValueError(f"local_data=True: this process's share has {np.shape(a)[:1]} samples, which its "
                                 f"{len(mine)} devices do not divide; give every process the same number of samples, "
                                 f"a multiple of {len(mine)}")
            sharding = NamedSharding(self.mesh, PartitionSpec("data", *([None] * (a.ndim - 1))))
            return jax.make_array_from_process_local_data(sharding, a, (a.shape[0] * jax.process_count(),
                                                                        *a.shape[1:]))

        return jax.tree_util.tree_map(put, tree)


def data_parallel(devices) -> DataParallel | None:
    """The ``devices`` argument of ``fit`` as a ``DataParallel`` (None: the default single device).

    Arguments:
        devices: None (one device); "all" (every local device: ``jax.local_devices()``); "global" (every device
            of every process after ``physnn.distributed.initialize``: ``jax.devices()``); an int k (the first k
            local devices); a list of ``jax.Device``; or a ``jax.sharding.Mesh`` with one axis.
    """
    if devices is None:
        return None
    if isinstance(devices, Mesh):
        if devices.devices.ndim != 1:
            raise ValueError(f"devices: a Mesh for data-parallel training needs one axis, got axes "
                             f"{devices.axis_names}")
        return DataParallel(Mesh(devices.devices, ("data",)))
    local = jax.local_devices()
    if isinstance(devices, str):
        if devices not in ("all", "global"):
            raise ValueError(f"devices must be None, 'all', 'global', a count, a list of devices or a Mesh, got "
                             f"{devices!r}")
        chosen = local if devices == "all" else jax.devices()
    elif isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        if not 1 <= devices <= len(local):
            raise ValueError(f"devices={devices}: there are {len(local)} local devices")
        chosen = local[: int(devices)]
    elif isinstance(devices, (list, tuple)) and devices and all(isinstance(d, jax.Device) for d in devices):
        chosen = list(devices)
    else:
        raise ValueError(f"devices must be None, 'all', a count, a list of devices or a Mesh, got {devices!r}")
    return DataParallel(Mesh(np.array(chosen), ("data",)))
