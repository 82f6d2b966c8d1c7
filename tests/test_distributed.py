"""Two processes on 127.0.0.1, two forced CPU devices each, connected by physnn.distributed (gloo collectives),
train one model with every batch split across the 4 devices: both end with the parameters of a one-process
4-device run, whether each process passes the whole data set or only its share (``local_data=True``)."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

WORKER = textwrap.dedent('''
    import json, sys
    import numpy as np
    process, port, out = sys.argv[1], sys.argv[2], sys.argv[3]
    import jax
    import physnn
    from physnn import distributed
    if process != "single":
        distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=int(process))
    from physnn.layers import Dense, Input
    rng = np.random.default_rng(0)
    x = rng.normal(size=(203, 5)); y = np.sin(x.sum(1, keepdims=True))   # the whole data set in every process
    model = physnn.Sequential([Input((5,)), Dense(32, activation="tanh"), Dense(1)], seed=0).compile("adam", "mse")
    history = model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, verbose=0,
                        devices="global" if process != "single" else "all")
    leaves = [np.asarray(leaf.addressable_data(0)) for leaf in jax.tree_util.tree_leaves(model.params)]
    # each process feeds only its share: rows [100 p, 100 p + 100) of 200 (single: all 200 on its 4 devices)
    shared = physnn.Sequential([Input((5,)), Dense(8, activation="tanh"), Dense(1)], seed=1).compile("adam", "mse")
    rows = slice(0, 200) if process == "single" else slice(100 * int(process), 100 * int(process) + 100)
    shared.fit(x[rows], y[rows], epochs=3, batch_size=40, verbose=0, local_data=True,
               devices="global" if process != "single" else "all")
    leaves += [np.asarray(w) for w in shared.get_weights()]
    np.savez(out, *leaves)
    print(json.dumps({"devices": jax.device_count(), "local": jax.local_device_count(),
                      "processes": distributed.process_count(), "coordinator": distributed.is_coordinator(),
                      "loss": history.history["loss"][-1]}))
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(devices):
    return {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"}


@pytest.mark.slow
def test_two_processes_train_the_parameters_of_one_process_on_four_devices(tmp_path):
    port = _free_port()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(i), str(port), str(tmp_path / f"p{i}.npz")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(2))
               for i in range(2)]
    single = subprocess.run([sys.executable, "-c", WORKER, "single", "0", str(tmp_path / "single.npz")],
                            capture_output=True, text=True, env=_env(4), timeout=600)
    outputs = [w.communicate(timeout=600) for w in workers]
    for w, (_, err) in zip(workers, outputs):
        assert w.returncode == 0, err[-3000:]
    assert single.returncode == 0, single.stderr[-3000:]
    logs = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    reference = json.loads(single.stdout.strip().splitlines()[-1])
    assert [log["devices"] for log in logs] == [4, 4] and [log["local"] for log in logs] == [2, 2]
    assert [log["processes"] for log in logs] == [2, 2] and [log["coordinator"] for log in logs] == [True, False]
    assert reference["devices"] == 4 and logs[0]["loss"] == logs[1]["loss"]
    assert abs(logs[0]["loss"] - reference["loss"]) < 1e-6
    ref = np.load(tmp_path / "single.npz")
    for i in range(2):
        got = np.load(tmp_path / f"p{i}.npz")
        for name in ref.files:
            np.testing.assert_allclose(got[name], ref[name], rtol=0, atol=1e-6)


def test_initialize_refuses_bad_arguments():
    from physnn import distributed

    with pytest.raises(ValueError, match="process_id must be < num_processes"):
        distributed.initialize("127.0.0.1:1", num_processes=2, process_id=2)
    with pytest.raises(ValueError, match="cpu_collectives"):
        distributed.initialize(cpu_collectives="nccl")
    assert distributed.process_count() == 1 and distributed.is_coordinator()
