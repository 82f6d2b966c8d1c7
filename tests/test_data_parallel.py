"""Data-parallel training on 4 forced host devices (a subprocess: the device count is fixed at JAX's start):
every batch split across the devices gives the parameters of the one-device run; ``predict`` and ``evaluate``
split their samples the same way and give the one-device numbers."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import json, sys
    import jax, numpy as np
    if sys.argv[1] == "float64":
        jax.config.update("jax_enable_x64", True)
    import physnn
    from physnn import FFNN, Adam, CostOLS, identity, sigmoid
    from physnn.layers import Dense, Input
    from physnn.training import make_epoch, keras_layout, TrainState
    from physnn.training.devices import data_parallel

    out = {"devices": len(jax.devices())}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(203, 5)); y = np.sin(x.sum(1, keepdims=True))   # 6 batches of 32 and a ragged 11

    def gap(a, b):
        return max(float(np.max(np.abs(np.asarray(p) - np.asarray(q)))) for p, q in
                   zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))

    def model():
        return physnn.Sequential([Input((5,)), Dense(32, activation="tanh"), Dense(1)], seed=0).compile("adam", "mse")

    one, four = model(), model()
    h1 = one.fit(x, y, epochs=8, batch_size=32, validation_split=0.2, verbose=0).history
    h4 = four.fit(x, y, epochs=8, batch_size=32, validation_split=0.2, verbose=0, devices="all").history
    out["sequential"] = gap(one.params, four.params)
    out["val_loss"] = abs(h1["val_loss"][-1] - h4["val_loss"][-1])
    out["replicated_on"] = len(jax.tree_util.tree_leaves(four.params)[0].sharding.device_set)
    out["predict"] = float(np.max(np.abs(one.predict(x) - four.predict(x))))
    xs, ys = x[:200], y[:200]  # 4 x 50 rows; batch_size=64 leaves a ragged 8, computed replicated
    out["predict_split"] = float(np.max(np.abs(one.predict(xs) - four.predict(xs, devices="all"))))
    out["predict_batched"] = float(np.max(np.abs(one.predict(xs, batch_size=64)
                                                 - four.predict(xs, batch_size=64, devices="all"))))
    out["evaluate_split"] = abs(one.evaluate(xs, ys) - four.evaluate(xs, ys, devices="all"))
    rows = []  # the rows each device holds where the program reads its input (at compile time)

    class Probe(physnn.Model):
        def __init__(self):
            super().__init__()
            self.dense = Dense(1)

        def call(self, inputs, training=False):
            jax.debug.inspect_array_sharding(inputs, callback=lambda s: rows.append(s.shard_shape((200, 5))[0]))
            return self.dense(inputs)

    probe = Probe().compile("sgd", "mse")
    probe.predict(xs)
    probe.predict(xs, devices="all")
    out["rows_per_device"] = rows
    two = model()
    two.fit(x, y, epochs=8, batch_size=32, validation_split=0.2, verbose=0,
            devices=jax.sharding.Mesh(np.array(jax.devices()[:2]), ("batch",)))
    out["mesh_of_two"] = gap(one.params, two.params)
    solo, spread = model(), model()  # the data split across the devices (each holds 50 rows), not copied
    solo.fit(xs, ys, epochs=4, batch_size=40, verbose=0)
    spread.fit(xs, ys, epochs=4, batch_size=40, verbose=0, devices="all", local_data=True)
    out["local_data"] = gap(solo.get_weights(), spread.get_weights())
    plan_x = spread.training_plan(xs, ys, batch_size=40, devices="all", local_data=True).x
    out["local_rows"] = [plan_x.shape[0], plan_x.sharding.shard_shape(plan_x.shape)[0]]
    for bad in ({"devices": "all"}, {}):  # 203 rows on 4 devices; no devices
        try:
            model().fit(x, y, epochs=1, verbose=0, local_data=True, **bad)
        except ValueError as err:
            out.setdefault("local_data_errors", []).append(str(err))

    nets = [FFNN((5, 16, 1), hidden_func=sigmoid, output_func=identity, cost_func=CostOLS, seed=1) for _ in range(2)]
    nets[0].fit(x, y, Adam(0.01), batches=5, epochs=6, verbose=False)
    nets[1].fit(x, y, Adam(0.01), batches=5, epochs=6, verbose=False, devices=4)  # 4 x 40 + 43
    out["ffnn"] = gap(nets[0].params, nets[1].params)

    # the compiled step is really split: XLA all-reduces the gradient
    def loss_fn(p, s, xb, yb, k):
        return jax.numpy.mean((xb @ p["w"] - yb) ** 2), (s, {})
    opt = physnn.schedulers.as_functional(physnn.optimizers.SGD(learning_rate=0.1))
    p = {"w": jax.numpy.zeros((5, 1), x.dtype)}
    texts = {}
    for name, parallel in (("one", None), ("four", data_parallel("all"))):
        epoch = make_epoch(loss_fn, opt, 203, keras_layout(203, 32), parallel=parallel)
        carry = TrainState(p, opt.init(p), {})
        args = (carry, x, y, np.uint32(0), 0)
        if parallel is not None:
            args = parallel.place(args[:3]) + args[3:]
        texts[name] = jax.jit(epoch).lower(*args).compile().as_text()
    out["all_reduce_one"] = "all-reduce" in texts["one"]
    out["all_reduce_four"] = "all-reduce" in texts["four"]
    try:
        model().fit(x, y, epochs=1, verbose=0, devices=9)
    except ValueError as err:
        out["too_many"] = str(err)
    print(json.dumps(out))
''')


def _run(dtype):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, dtype], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("dtype, tolerance", [("float32", 1e-6), ("float64", 1e-12)])
def test_four_devices_train_the_parameters_of_one(dtype, tolerance):
    out = _run(dtype)
    assert out["devices"] == 4
    assert out["sequential"] < tolerance and out["val_loss"] < tolerance * 10
    assert out["mesh_of_two"] < tolerance and out["ffnn"] < tolerance and out["local_data"] < tolerance
    assert out["local_rows"] == [200, 50]
    assert "4 devices do not divide" in out["local_data_errors"][0]
    assert "local_data=True needs devices" in out["local_data_errors"][1]
    assert out["predict"] < tolerance * 10
    assert max(out["predict_split"], out["predict_batched"], out["evaluate_split"]) < tolerance * 10
    assert 200 in out["rows_per_device"] and 50 in out["rows_per_device"]  # one device, then 4 x 50 rows
    assert out["replicated_on"] == 4
    assert out["all_reduce_four"] and not out["all_reduce_one"]
    assert "there are 4 local devices" in out["too_many"]


def test_bad_devices_argument_is_a_value_error():
    import physnn
    from physnn.layers import Dense, Input
    from physnn.training.devices import data_parallel

    for bad in ("some", 0, [1, 2], 2.5):
        with pytest.raises(ValueError, match="devices"):
            data_parallel(bad)
    assert data_parallel(None) is None
    model = physnn.Sequential([Input((2,)), Dense(1)]).compile("sgd", "mse")
    with pytest.raises(ValueError, match="devices"):
        model.fit([[0.0, 1.0]], [[1.0]], epochs=1, verbose=0, devices="gpu")
