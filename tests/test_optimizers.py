"""One table over every registered optimiser (Optax's alias_test habit): every course class in SCHEDULERS, every
Keras name in OPTIMIZER_NAMES and a partition of two run to the minimum of a quadratic and of the 2-D
Rosenbrock function, have NamedTuple states, run under jit without retracing on the second call and take
``params=None`` where they do not need it. Then AdamW against torch.optim.AdamW and Keras's equations, the
parameter groups of ``partition`` (a GAN's two optimisers; a frozen group), the learning-rate scale and
refused hyperparameters."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physnn as keras
from physnn import ReduceLROnPlateau, layers, optimizers, schedulers
from physnn.schedulers import (
    OPTIMIZER_NAMES,
    SCHEDULERS,
    AdamW,
    PartitionState,
    adam,
    adamw,
    exponential_decay,
    get_lr_scale,
    momentum,
    partition,
    set_lr_scale,
)

tree_map = jax.tree_util.tree_map
leaves = jax.tree_util.tree_leaves

# ------------------------------------------------------------------------------------------ the problems

# f(p) = 1/2 sum h (p - target)^2 over a nested pytree (condition number 8), minimum at TARGET
CURVATURE = {"a": jnp.array([1.0, 4.0]), "b": {"c": jnp.array([2.0, 0.5, 3.0])}}
TARGET = {"a": jnp.array([1.0, -2.0]), "b": {"c": jnp.array([0.5, 1.5, -1.0])}}
QUADRATIC_START = tree_map(jnp.zeros_like, TARGET)


def quadratic(p):
    return 0.5 * sum(jnp.sum(h * (x - t) ** 2) for h, x, t in zip(leaves(CURVATURE), leaves(p), leaves(TARGET)))


def rosenbrock(p):
    """(1 - x)^2 + 100 (y - x^2)^2: a curved valley, minimum at (1, 1); the classic start (-1.2, 1)."""
    return (1 - p["x"]) ** 2 + 100 * (p["y"] - p["x"] ** 2) ** 2


ROSENBROCK_START = {"x": jnp.array(-1.2), "y": jnp.array(1.0)}
ROSENBROCK_MINIMUM = {"x": jnp.array(1.0), "y": jnp.array(1.0)}
QUADRATIC_TOL, ROSENBROCK_TOL = 1e-4, 1e-3  # max |p - p*| over the parameters


# --------------------------------------------------------------------------------------------- the table


def _course(name, **kwargs):
    """SCHEDULERS[name] with learning rate eta (and ``kwargs``), as the trainer runs it."""
    return lambda eta: SCHEDULERS[name](eta, **kwargs).functional()


def _named(name):
    """The optimiser compile(optimizer=name) gives, with its learning rate replaced by eta."""
    registered = OPTIMIZER_NAMES[name]()
    return lambda eta: type(registered)(**{**registered.get_config(), "eta": eta}).functional()


def _two_groups(eta):
    """Adam on the first top-level entry, momentum on the rest (labels: a function of params, a prefix tree)."""
    labels = lambda params: {k: "first" if i == 0 else "rest" for i, k in enumerate(sorted(params))}  # noqa: E731
    return partition({"first": adam(eta), "rest": momentum(eta / 10, 0.9)}, labels)


class Row(NamedTuple):
    name: str  # the registry entry it stands for
    make: object  # eta -> Optimizer
    quadratic: tuple  # (eta, steps)
    rosenbrock: tuple


DECAY = exponential_decay(0.05, 0.1, 5000)  # adaptive methods hover at ~eta around the valley's end: anneal
TABLE = [
    Row("SCHEDULERS['constant']", _course("constant"), (0.2, 200), (0.002, 10_000)),
    Row("SCHEDULERS['momentum']", _course("momentum", momentum=0.9), (0.02, 1000), (0.001, 2000)),
    Row("SCHEDULERS['adagrad']", _course("adagrad"), (0.5, 1000), (1.0, 10_000)),
    Row("SCHEDULERS['adagradmomentum']", _course("adagradmomentum", momentum=0.9), (0.5, 1000), (0.5, 5000)),
    Row("SCHEDULERS['rms_prop']", _course("rms_prop", rho=0.9), (0.01, 1000),
        (exponential_decay(0.01, 0.1, 5000), 10_000)),
    Row("SCHEDULERS['adam']", _course("adam"), (0.1, 1000), (0.05, 5000)),
    Row("SCHEDULERS['adamw']", _course("adamw", weight_decay=1e-3), (DECAY, 10_000), (DECAY, 10_000)),
    Row("OPTIMIZER_NAMES['sgd']", _named("sgd"), (0.2, 200), (0.002, 10_000)),
    Row("OPTIMIZER_NAMES['momentum']", _named("momentum"), (0.02, 1000), (0.001, 2000)),
    Row("OPTIMIZER_NAMES['adagrad']", _named("adagrad"), (0.5, 1000), (1.0, 10_000)),
    Row("OPTIMIZER_NAMES['rmsprop']", _named("rmsprop"), (0.01, 1000), (exponential_decay(0.01, 0.1, 5000), 10_000)),
    Row("OPTIMIZER_NAMES['adam']", _named("adam"), (0.1, 1000), (0.05, 5000)),
    Row("OPTIMIZER_NAMES['adamw']", _named("adamw"), (DECAY, 10_000), (DECAY, 10_000)),
    Row("partition", _two_groups, (0.05, 2000), (0.05, 5000)),
    # Keras's classes (physnn.optimizers; their equations against torch.optim in tests/test_keras_namespaces.py)
    Row("optimizers.SGD", lambda eta: optimizers.SGD(eta, momentum=0.9, nesterov=True).functional(), (0.02, 1000),
        (0.001, 2000)),
    Row("optimizers.Adam", lambda eta: optimizers.Adam(eta, amsgrad=True).functional(), (0.1, 1000), (0.05, 5000)),
    Row("optimizers.AdamW", lambda eta: optimizers.AdamW(eta, weight_decay=1e-3).functional(), (DECAY, 10_000),
        (DECAY, 10_000)),
    Row("optimizers.RMSprop", lambda eta: optimizers.RMSprop(eta, momentum=0.5, centered=True).functional(),
        (0.01, 1000), (exponential_decay(0.01, 0.1, 5000), 10_000)),
    Row("optimizers.Adagrad", lambda eta: optimizers.Adagrad(eta).functional(), (0.5, 1000), (0.5, 10_000)),
]
IDS = [row.name for row in TABLE]
NEEDS_PARAMS = {"SCHEDULERS['adamw']", "OPTIMIZER_NAMES['adamw']", "optimizers.AdamW"}


# Full-batch optimisers need the loss function too (update(grads, state, params, value, value_and_grad)):
# tested in their own rows below (Hessian-free without a Gauss-Newton product: the exact Hessian).
FULL_BATCH = {"lbfgs": "LBFGSState", "hessian_free": "HFState"}  # OPTIMIZER_NAMES key -> its state's class


def test_the_table_covers_every_registered_optimiser():
    registered = ({f"SCHEDULERS[{name!r}]" for name in SCHEDULERS} | {f"OPTIMIZER_NAMES[{name!r}]" for name in
                                                                     OPTIMIZER_NAMES} | {"partition"}
                  | {f"optimizers.{name}" for name in optimizers.CLASSES})
    assert set(IDS) | {f"OPTIMIZER_NAMES[{name!r}]" for name in FULL_BATCH} == registered and len(IDS) == len(set(IDS))


@pytest.mark.parametrize("name", FULL_BATCH)
@pytest.mark.parametrize("problem, start, minimum, steps, tol", [
    ("quadratic", QUADRATIC_START, TARGET, 20, QUADRATIC_TOL),
    ("rosenbrock", ROSENBROCK_START, ROSENBROCK_MINIMUM, 60, 1e-5),
])
def test_full_batch_optimisers_converge_without_recompiling(problem, start, minimum, steps, tol, name):
    loss = {"quadratic": quadratic, "rosenbrock": rosenbrock}[problem]
    opt = OPTIMIZER_NAMES[name]().functional()
    traces = []

    @jax.jit
    def run(params):
        traces.append(1)
        value_and_grad = jax.value_and_grad(loss)

        def step(carry, _):
            params, state = carry
            value, grads = value_and_grad(params)
            change, state = opt.update(grads, state, params, value, value_and_grad)
            return (tree_map(lambda p, c: p - c, params, change), state), value

        return jax.lax.scan(step, (params, opt.init(params)), None, length=steps)[0]

    params, state = run(start)
    assert type(state).__name__ == FULL_BATCH[name] and isinstance(state, tuple)
    for got, want in zip(leaves(params), leaves(minimum)):
        np.testing.assert_allclose(got, want, atol=tol)
    run(tree_map(lambda p: p + 0.1, start))
    assert len(traces) == 1, "a second call with the same shapes must not retrace"


def _minimise(opt, loss, start, steps):
    """``steps`` updates params <- params - change in one lax.scan under jit."""

    def step(carry, _):
        params, state = carry
        change, state = opt.update(jax.grad(loss)(params), state, params)
        return (tree_map(lambda p, c: p - c, params, change), state), None

    run = jax.jit(lambda params: jax.lax.scan(step, (params, opt.init(params)), None, length=steps)[0][0])
    return run(start)


def _max_error(a, b):
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(leaves(a), leaves(b), strict=True))


@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_converges_on_a_quadratic(row):
    eta, steps = row.quadratic
    assert _max_error(_minimise(row.make(eta), quadratic, QUADRATIC_START, steps), TARGET) < QUADRATIC_TOL


@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_converges_on_the_rosenbrock_function(row):
    eta, steps = row.rosenbrock
    found = _minimise(row.make(eta), rosenbrock, ROSENBROCK_START, steps)
    assert _max_error(found, ROSENBROCK_MINIMUM) < ROSENBROCK_TOL


def _is_namedtuple(state):
    return isinstance(state, tuple) and hasattr(state, "_fields")


@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_state_is_a_namedtuple_and_the_second_jitted_call_does_not_retrace(row):
    opt = row.make(0.01)
    state = opt.init(QUADRATIC_START)
    assert _is_namedtuple(state)
    if isinstance(state, PartitionState):
        assert all(_is_namedtuple(inner) for inner in state.states.values())
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(None)  # runs only while tracing
        change, state = opt.update(jax.grad(quadratic)(params), state, params)
        return tree_map(lambda p, c: p - c, params, change), state

    params, state = step(QUADRATIC_START, state)
    params, state = step(params, state)  # the state it returned: same types, shapes and dtypes
    assert len(traces) == 1 and step._cache_size() == 1
    assert type(state) is type(opt.init(QUADRATIC_START))
    assert np.all(np.isfinite(np.concatenate([np.ravel(x) for x in leaves(params)])))


@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_params_none_is_accepted_unless_the_optimiser_needs_them(row):
    opt = row.make(0.01)
    state = opt.init(QUADRATIC_START)
    grads = jax.grad(quadratic)(QUADRATIC_START)
    if row.name in NEEDS_PARAMS:
        with pytest.raises(ValueError, match=r"adamw needs the parameters.*update\(grads, state, params\)"):
            opt.update(grads, state)
        return
    with_params, _ = opt.update(grads, state, QUADRATIC_START)
    without, _ = opt.update(grads, state)
    for a, b in zip(leaves(with_params), leaves(without), strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------------ AdamW


def _adamw_problem(steps=8):
    rng = np.random.default_rng(1)
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    grads = [{"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)} for _ in range(steps)]
    return params, grads


def _run_ours(opt, params, grads):
    with jax.enable_x64(True):
        p = tree_map(jnp.asarray, params)
        state, out = opt.init(p), []
        for g in grads:
            change, state = opt.update(tree_map(jnp.asarray, g), state, p)
            p = tree_map(lambda a, c: a - c, p, change)
            out.append(tree_map(np.asarray, p))
    return out


def test_adamw_equals_torch_optim_adamw():
    import torch

    params, grads = _adamw_problem()
    hyper = dict(lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    opt = torch.optim.AdamW(list(tensors.values()), **hyper)
    expected = []
    for g in grads:
        for k, t in tensors.items():
            t.grad = torch.as_tensor(g[k])
        opt.step()
        expected.append({k: t.detach().numpy().copy() for k, t in tensors.items()})
    ours = _run_ours(adamw(0.01, weight_decay=0.1, rho=0.9, rho2=0.99, delta=1e-8), params, grads)
    for mine, ref in zip(ours, expected, strict=True):
        for k in ref:
            np.testing.assert_allclose(mine[k], ref[k], rtol=1e-6, atol=1e-6)
    # the decay matters here: Adam alone ends elsewhere
    plain = _run_ours(adam(0.01, rho=0.9, rho2=0.99, delta=1e-8), params, grads)[-1]
    assert max(np.max(np.abs(plain[k] - expected[-1][k])) for k in params) > 1e-4


def test_adamw_class_and_the_keras_name():
    params, grads = _adamw_problem(4)
    functional = _run_ours(adamw(0.01, 0.1), params, grads)
    with jax.enable_x64(True):
        course, w = AdamW(0.01, weight_decay=0.1), jnp.asarray(params["W"])
        for g in grads:
            w = w - course.update_change(jnp.asarray(g["W"]), w)
        np.testing.assert_array_equal(np.asarray(w), functional[-1]["W"])
        with pytest.raises(ValueError, match="adamw needs the parameters"):
            AdamW(0.01).update_change(jnp.asarray(g["W"]))
    # compile(optimizer="adamw") is Keras 3's AdamW: w -= lr wd w, then Adam's epsilon-hat step (eps 1e-7)
    assert isinstance(schedulers.get_optimizer("adamw"), AdamW)
    w, m, v = params["W"].copy(), np.zeros((3, 2)), np.zeros((3, 2))
    for t, g in enumerate(grads, start=1):
        w = w - 0.001 * 0.004 * w
        m += (g["W"] - m) * 0.1
        v += (g["W"] ** 2 - v) * 0.001
        w = w - 0.001 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-7)
    keras_form = _run_ours(schedulers.as_functional("adamw"), params, grads)[-1]["W"]
    np.testing.assert_allclose(keras_form, w, rtol=1e-12)


def test_compile_adamw_fits_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="tanh"), layers.Dense(1)], seed=0)
    model.compile(optimizer="adamw", loss="mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert int(model.opt_state.step) == 4
    model.save(tmp_path / "m.npz")
    loaded = keras.load_model(tmp_path / "m.npz")
    assert type(loaded.opt_state) is type(model.opt_state) and loaded.optimizer.get_config() == \
        model.optimizer.get_config()
    for a, b in zip(leaves(loaded.opt_state), leaves(model.opt_state), strict=True):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------- parameter groups

GROUPS = {"gen": {"W": jnp.array([[0.5, -1.0], [2.0, 0.1]]), "b": jnp.array([0.3, -0.2])},
          "disc": {"W": jnp.array([[1.0], [-0.5]]), "b": jnp.array([0.7])}}


def _grads(k):
    return tree_map(lambda p: jnp.sin(p * (k + 1.0)) + 0.1 * k, GROUPS)


def _train(opt, params, steps=5):
    state = opt.init(params)
    for k in range(steps):
        change, state = opt.update(_grads(k), state, params)
        params = tree_map(lambda p, c: p - c, params, change)
    return params, state


def _train_part(opt, name, steps=5):
    params, state = GROUPS[name], opt.init(GROUPS[name])
    for k in range(steps):
        change, state = opt.update(_grads(k)[name], state, params)
        params = tree_map(lambda p, c: p - c, params, change)
    return params


@pytest.mark.parametrize("labels", [{"gen": "gen", "disc": "disc"},  # a prefix of params
                                    lambda params: {k: k for k in params},  # a function of params
                                    {"gen": {"W": "gen", "b": "gen"}, "disc": {"W": "disc", "b": "disc"}}],
                         ids=["prefix", "function", "full"])
def test_two_groups_equal_two_separate_optimisers(labels):
    opt = partition({"gen": adam(1e-2), "disc": schedulers.adamw(2e-3, weight_decay=0.5)}, labels)
    params, state = _train(opt, GROUPS)
    assert set(state.states) == {"gen", "disc"} and int(state.states["gen"].step) == 5
    for name, single in [("gen", adam(1e-2)), ("disc", schedulers.adamw(2e-3, weight_decay=0.5))]:
        for a, b in zip(leaves(params[name]), leaves(_train_part(single, name)), strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_frozen_group_stays_bit_identical_also_in_the_compiled_trainer():
    params, state = _train(partition({"gen": momentum(0.1), "disc": None}, {"gen": "gen", "disc": "disc"}), GROUPS)
    assert set(state.states) == {"gen"}
    for a, b in zip(leaves(params["disc"]), leaves(GROUPS["disc"]), strict=True):
        np.testing.assert_array_equal(a, b)
    assert _max_error(params["gen"], GROUPS["gen"]) > 0.1

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="tanh", name="body"),
                              layers.Dense(1, name="head")], seed=0)
    model.compile(optimizer=partition({"body": None, "head": adam(0.05)}, {"body": "body", "head": "head"}),
                  loss="mse")
    before = tree_map(np.array, model.params)
    reducer = ReduceLROnPlateau("loss", factor=0.5, patience=1, min_delta=10.0)  # reduces after epoch 1
    history = model.fit(x, y, epochs=3, batch_size=8, callbacks=[reducer], verbose=0)
    for a, b in zip(leaves(model.params["body"]), leaves(before["body"]), strict=True):
        np.testing.assert_array_equal(a, b)
    assert _max_error(model.params["head"], before["head"]) > 1e-3
    assert history.history["lr_scale"] == [1.0, 0.5, 0.25]
    assert float(model.opt_state.states["head"].scale) == 0.25


def test_lr_scale_of_every_state_form():
    state = adam(0.1).init(GROUPS)
    assert get_lr_scale(state) == 1.0 and float(set_lr_scale(state, 0.5).scale) == 0.5
    assert set_lr_scale(state, 0.5).scale.dtype == state.scale.dtype
    as_dict = {**state}  # the form before NamedTuple states
    assert float(set_lr_scale(as_dict, 0.25)["scale"]) == 0.25 and isinstance(set_lr_scale(as_dict, 0.25), dict)
    both = partition({"gen": adam(0.1), "disc": None}, {"gen": "gen", "disc": "disc"}).init(GROUPS)
    assert float(set_lr_scale(both, 0.5).states["gen"].scale) == 0.5
    with pytest.raises(ValueError, match="no learning-rate scale"):
        get_lr_scale(PartitionState({}))


def test_a_dict_state_is_read_and_returned_as_a_dict():
    opt = adam(0.1)
    state = opt.init(GROUPS)
    change, new = opt.update(_grads(0), {**state, "scale": jnp.asarray(0.5, jnp.float32)})
    reference, _ = opt.update(_grads(0), state._replace(scale=jnp.asarray(0.5, jnp.float32)))
    assert isinstance(new, dict) and set(new) == set(state._fields) and int(new["step"]) == 1
    for a, b in zip(leaves(change), leaves(reference), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_update_without_params_argument_is_wrapped():
    legacy = schedulers.Optimizer(lambda params: (), lambda grads, state: (grads, state))
    change, _ = schedulers.as_functional(legacy).update(GROUPS, (), GROUPS)
    assert _max_error(change, GROUPS) == 0


@pytest.mark.parametrize("make, message", [
    (lambda: partition({}, "gen"), "optimizers must be a non-empty dict"),
    (lambda: partition({"gen": adam(0.1)}, {"gen": "gen", "disc": "critic"}).init(GROUPS),
     r"labels name the groups \['critic'\], which have no optimiser; groups are \['gen'\]"),
    (lambda: partition({"gen": adam(0.1)}, {"generator": "gen"}).init(GROUPS),
     "labels must be a pytree of group names with the structure of params"),
    (lambda: partition({"gen": "nadam"}, {"gen": "gen"}), "optimizer='nadam' is not known"),
])
def test_bad_partitions_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -------------------------------------------------------------------------------------- hyperparameters

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("make, name", [
    (lambda: schedulers.constant(-0.1), "eta"), (lambda: schedulers.adagrad(NAN), "eta"),
    (lambda: schedulers.adam(-1e-3), "eta"), (lambda: adamw(INF), "eta"), (lambda: AdamW(NAN), "eta"),
    (lambda: schedulers.momentum(0.1, 1.0), "momentum"), (lambda: schedulers.momentum(0.1, NAN), "momentum"),
    (lambda: schedulers.adagrad_momentum(0.1, -0.5), "momentum"), (lambda: schedulers.rms_prop(0.1, 1.5), "rho"),
    (lambda: schedulers.rms_prop(0.1, NAN), "rho"), (lambda: adam(0.1, rho=NAN), "rho"),
    (lambda: adam(0.1, rho2=1.0), "rho2"), (lambda: adamw(0.1, rho2=-0.1), "rho2"),
    (lambda: adam(0.1, delta=0.0), "delta"), (lambda: adamw(0.1, delta=NAN), "delta"),
    (lambda: adamw(0.1, weight_decay=-0.01), "weight_decay"), (lambda: adamw(0.1, weight_decay=NAN), "weight_decay"),
    (lambda: adamw(0.1, weight_decay=INF), "weight_decay"), (lambda: AdamW(0.1, weight_decay=-1), "weight_decay"),
    (lambda: AdamW(0.1, weight_decay=True), "weight_decay"),
])
def test_invalid_hyperparameters_name_the_parameter(make, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        make()
