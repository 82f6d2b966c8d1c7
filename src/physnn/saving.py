"""Saving and loading models: one ``.npz`` file with the architecture, weights, layer state, optimiser and
its state, and a SHA-256 checksum over all of it.

Weights are stored by layer *position* (call order), not by layer name, so a model rebuilt from its
config (whose layers get fresh names) receives exactly the saved arrays. Loading checks the format, the
checksum, the layer types and every array's shape, and raises ``ValueError`` on any mismatch: it never
returns a half-built model.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from physnn import costs, metrics, schedulers
from physnn.layers.serialize import deserialize, serialize
from physnn.layers.symbolic import SymbolicTensor

FORMAT = "physnn-model"
VERSION = 1


# --- architecture -----------------------------------------------------------------------------------


def _model_config(model) -> dict:
    from physnn.models import Model, Sequential

    common = {"name": model.name, "seed": model.seed}
    if isinstance(model, Sequential):
        return {"kind": "Sequential", **common, "input_shape": model.input_shape,
                "layers": [serialize(layer) for layer in model._stack]}
    if isinstance(model, Model) and hasattr(model, "_nodes"):
        refs = {id(t): f"i{i}" for i, t in enumerate(model._inputs)}
        refs.update({id(t): f"n{i}" for i, t in enumerate(model._nodes)})
        layers = {}
        for node in model._nodes:
            layers.setdefault(node.layer.name, serialize(node.layer))
        return {
            "kind": "Functional", **common,
            "inputs": [list(t.sample_shape) for t in model._inputs],
            "layers": layers,
            "nodes": [{"layer": n.layer.name, "inputs": [refs[id(t)] for t in n.inputs]} for n in model._nodes],
            "outputs": [refs[id(t)] for t in model._outputs],
            "multi_input": model._multi_input, "multi_output": model._multi_output,
        }
    cls = type(model)
    return {"kind": "Subclassed", **common, "module": cls.__module__, "qualname": cls.__qualname__,
            "config": model.get_config(), "input_shape": model.input_shape}


def _rebuild(config: dict):
    from physnn.models import Model, Sequential

    kind = config["kind"]
    if kind == "Sequential":
        model = Sequential([deserialize(c) for c in config["layers"]], name=config["name"], seed=config["seed"])
        if not model.built:
            model.build(config["input_shape"])
        return model
    if kind == "Functional":
        layers = {name: deserialize(c) for name, c in config["layers"].items()}
        values = {f"i{i}": SymbolicTensor(shape) for i, shape in enumerate(config["inputs"])}
        for i, node in enumerate(config["nodes"]):
            args = [values[r] for r in node["inputs"]]
            values[f"n{i}"] = layers[node["layer"]](args if len(args) > 1 else args[0])
        inputs = [values[f"i{i}"] for i in range(len(config["inputs"]))]
        outputs = [values[r] for r in config["outputs"]]
        return Model(inputs if config["multi_input"] else inputs[0],
                     outputs if config["multi_output"] else outputs[0], name=config["name"], seed=config["seed"])
    if kind == "Subclassed":
        try:
            cls = importlib.import_module(config["module"])
            for part in config["qualname"].split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"cannot rebuild the subclassed model {config['module']}.{config['qualname']}: "
                             f"{err} (import the module that defines it first)") from None
        model = cls(**config["config"])
        model.name, model.seed = config["name"], config["seed"]
        model.build(config["input_shape"])
        return model
    raise ValueError(f"unknown model kind {kind!r}")


# --- optimiser and loss -------------------------------------------------------------------------------


def _compile_config(model) -> dict | None:
    if model.loss is None:
        return None
    optimizer = model.optimizer
    opt = None
    if isinstance(optimizer, schedulers.Scheduler) and not callable(optimizer.eta):
        opt = {"class": type(optimizer).__name__, "config": optimizer.get_config()}
    loss = model.loss if isinstance(model.loss, str) else getattr(model.loss, "__name__", None)
    if loss not in costs.LOSSES and not hasattr(costs, str(loss)):
        loss = None
    names = [name for name, fn in model.metrics if name in metrics.METRICS]
    return {"optimizer": opt, "loss": loss, "metrics": names}


def _recompile(model, config):
    if not config or config["optimizer"] is None or config["loss"] is None:
        return False
    opt_class = getattr(schedulers, config["optimizer"]["class"])
    loss = config["loss"] if config["loss"] in costs.LOSSES else getattr(costs, config["loss"])
    model.compile(opt_class(**config["optimizer"]["config"]), loss, config["metrics"])
    return True


# --- arrays, by layer position ----------------------------------------------------------------------


def _positional(model, by_name: dict) -> list:
    return [by_name.get(name, {}) for name in model._layers]


def _opt_positional(model, opt_state: dict) -> dict:
    layer_names = set(model.params)
    return {k: _positional(model, v) if isinstance(v, dict) and set(v) == layer_names else v
            for k, v in opt_state.items()}


def _by_name(model, positional: list, keep) -> dict:
    return {name: p for name, p in zip(model._layers, positional) if name in keep}


def _flatten(prefix: str, tree) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {prefix + jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def _fill(prefix: str, template, arrays: dict[str, np.ndarray], path: str):
    """The pytree ``template`` with every leaf replaced by the stored array of the same path and shape."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    filled = []
    for key_path, leaf in leaves:
        key = prefix + jax.tree_util.keystr(key_path)
        if key not in arrays:
            raise ValueError(f"{path}: the file has no array {key!r}; it does not match its architecture")
        stored = arrays[key]
        if stored.shape != np.shape(leaf):
            raise ValueError(f"{path}: array {key!r} has shape {stored.shape}, the architecture needs "
                             f"{np.shape(leaf)}")
        filled.append(jnp.asarray(stored))
    return jax.tree_util.tree_unflatten(treedef, filled)


def _checksum(config_text: str, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(config_text.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def save_model(model, path) -> Path:
    """Write ``model`` to ``path`` (".npz" is appended when missing). Returns the path written."""
    if not model.built:
        raise ValueError(f"model '{model.name}' is not built; nothing to save")
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    config = {"format": FORMAT, "version": VERSION, "model": _model_config(model),
              "layer_types": [type(layer).__name__ for layer in model.layers],
              "compile": _compile_config(model)}
    arrays = _flatten("params", _positional(model, model.params))
    arrays.update(_flatten("state", _positional(model, model.state)) if model.state else {})
    if model.opt_state is not None and config["compile"] and config["compile"]["optimizer"]:
        arrays.update(_flatten("opt", _opt_positional(model, model.opt_state)))
        config["has_opt_state"] = True
    config_text = json.dumps(config, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, __config__=np.frombuffer(config_text.encode(), np.uint8),
                 __checksum__=np.frombuffer(_checksum(config_text, arrays).encode(), np.uint8), **arrays)
    return path


def load_model(path):
    """Rebuild a model saved with ``model.save(path)``: architecture, weights, state, optimiser state.

    Raises ``ValueError`` for a missing, truncated, corrupt or foreign file, or one whose arrays do not
    fit its architecture.
    """
    path = Path(path)
    if not path.exists() and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")
    if not path.exists():
        raise ValueError(f"{path}: no such model file")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f"it holds a single {type(data).__name__}, not an .npz archive")
        with data:
            arrays = {name: data[name] for name in data.files}
    except Exception as err:  # zipfile, struct, zlib, NotImplementedError (corrupt zip headers), ...
        raise ValueError(f"{path} is not a readable physnn model file (truncated or corrupt: {err})") from None
    if "__config__" not in arrays or "__checksum__" not in arrays:
        raise ValueError(f"{path} is not a physnn model file (no configuration or checksum)")
    config_text = arrays.pop("__config__").tobytes().decode()
    checksum = arrays.pop("__checksum__").tobytes().decode()
    if _checksum(config_text, arrays) != checksum:
        raise ValueError(f"{path} is corrupt: its checksum does not match its contents")
    config = json.loads(config_text)
    if config.get("format") != FORMAT or config.get("version") != VERSION:
        raise ValueError(f"{path}: unsupported format {config.get('format')!r} version {config.get('version')!r}")

    model = _rebuild(config["model"])
    types = [type(layer).__name__ for layer in model.layers]
    if types != config["layer_types"]:
        raise ValueError(f"{path}: rebuilt layers {types} differ from the saved {config['layer_types']}")
    model.params = _by_name(model, _fill("params", _positional(model, model.params), arrays, path), model.params)
    state_keys = [k for k in arrays if k.startswith("state")]
    if state_keys:
        model.reset_states(batch_size=arrays[state_keys[0]].shape[0])
        model.state = _by_name(model, _fill("state", _positional(model, model.state), arrays, path), model.state)
    if _recompile(model, config["compile"]) and config.get("has_opt_state"):
        template = _opt_positional(model, model._optimizer_fn.init(model.params))
        filled = _fill("opt", template, arrays, path)
        layer_names = list(model._layers)
        model.opt_state = {k: ({n: p for n, p in zip(layer_names, v)} if isinstance(v, list) else v)
                           for k, v in filled.items()}
    return model
