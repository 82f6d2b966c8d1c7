"""Saving and loading models: one ``.npz`` file with the architecture, weights, layer state, optimiser and
its state, and a SHA-256 checksum over all of it.

Weights are stored by layer *position* (call order), not by layer name, so a model rebuilt from its
config (whose layers get fresh names) receives exactly the saved arrays. Loading checks the format, the
checksum, the layer types and every array's shape, and raises ``ValueError`` on any mismatch: it never
returns a half-built model.

Trust. The checksum detects damage, not tampering (anyone can recompute it), so a file is treated as
untrusted input: ``load_model`` rebuilds only physnn's own classes and the classes the user registered
(``register_serializable``) or passes in ``custom_objects``; it reads arrays of numeric dtypes only
(``allow_pickle`` is never on), checks every member's declared size, dtype and shape before reading it,
and bounds the configuration's size and nesting. Any malformed file is a ``ValueError``.

Saving writes a temporary file next to the target, fsyncs it and renames it over the target, so an
interrupted save (a crash, ``kill -9``, a full disk) leaves the previous file as it was.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _io, activations, costs, initializers, losses, metrics, optimizers, schedulers
from physnn.layers.base import Layer
from physnn.layers.serialize import check_config, register_layer
from physnn.training.hessian_free import HessianFree
from physnn.training.lbfgs import LBFGS

FORMAT = "physnn-model"
VERSION = 1

# Limits on what a model file may declare (a crafted file must not make load_model allocate much more
# than the file's own size, recurse without bound or read for ever).
MAX_CONFIG_BYTES = 8 << 20  # the JSON configuration
MAX_JSON_DEPTH = 64  # nesting of lists and dicts in it
MAX_MEMBERS = 100_000  # arrays in the archive
MAX_MEMBER_BYTES = 1 << 32  # one array, uncompressed
MAX_COMPRESSION_RATIO = 100  # of a compressed member (save_model stores members uncompressed)
MAX_BATCH_ELEMENTS = 1 << 24  # the zero batch reset_states runs for a stateful model: batch * prod(input)
NUMERIC_KINDS = "biufc"  # bool, signed and unsigned integers, floats, complex

# Classes that load_model may rebuild besides physnn's own: "module.qualname" -> Module subclass.
_MODELS: dict[str, type] = {}

# The model classes and the functions describing their architecture, handed over by the modules that define
# them when they are imported (physnn.models and physnn.ffnn import this module, never the reverse: no import
# cycle). "Module": the model base class; "to_config"/"from_config": physnn.models.model_to_config /
# model_from_config; "FFNN": the course's network.
_ENGINE: dict = {}


def register_engine(**entries) -> None:
    """Called by physnn.models (Module, to_config, from_config) and physnn.ffnn (FFNN) at import."""
    _ENGINE.update(entries)


# "kind" of a file's model -> (config, arrays, path) -> the object, for physnn's models outside the engine's
# classes (physnn.reservoir registers "ESN" at import); they use write_file / read_file like every model.
_FILE_KINDS: dict = {}


def register_file_kind(kind: str, restore) -> None:
    _FILE_KINDS[kind] = restore

_SCHEDULES = {fn.__name__: fn for fn in (schedulers.exponential_decay, schedulers.step_decay,
                                         schedulers.inverse_time_decay, schedulers.polynomial_decay)}
# optimiser classes by the name a file stores: the course's by class name, Keras's (physnn.optimizers, whose
# Adam, Adagrad and AdamW share their names with course classes) as "optimizers.<class name>"
_OPTIMIZERS = {cls.__name__: cls for cls in (*schedulers.SCHEDULERS.values(), LBFGS, HessianFree)}
_OPTIMIZERS.update({f"optimizers.{name}": cls for name, cls in optimizers.CLASSES.items()})
_OPTIMIZER_NAMES = {cls: name for name, cls in _OPTIMIZERS.items()}
_RATE_KEYS = ("eta", "learning_rate")  # the learning rate's argument: course classes, Keras classes
_COST_FUNCTIONS = {fn.__name__: fn for fn in (*costs.LOSSES.values(), costs.CostOLS, costs.CostMAE,
                                             costs.CostLogReg, costs.CostCrossEntropy, costs.CostRMSE)}


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_serializable(cls=None):
    """Allow ``load_model`` to rebuild ``cls``, a subclassed model (a ``physnn.Module`` subclass) or a custom
    ``Layer``. Use it as a class decorator, ``@physnn.register_serializable`` (parentheses optional).

    A model file only names its classes; loading builds nothing that was not registered this way, passed
    in ``load_model(path, custom_objects={...})`` or part of physnn.
    """
    Module = _ENGINE["Module"]

    def register(cls):
        if isinstance(cls, type) and issubclass(cls, Layer):
            return register_layer(cls)
        if isinstance(cls, type) and issubclass(cls, Module):
            _MODELS[_class_name(cls)] = cls
            return cls
        raise ValueError(f"register_serializable expects a physnn.Module or Layer subclass, got {cls!r}")

    return register if cls is None else register(cls)


def _custom_objects(custom_objects) -> dict:
    """``custom_objects`` checked: class name -> a Module or Layer subclass."""
    Module = _ENGINE["Module"]
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, dict):
        raise ValueError(f"custom_objects must be a dict class name -> class, got {custom_objects!r}")
    for name, cls in custom_objects.items():
        if not (isinstance(name, str) and isinstance(cls, type) and issubclass(cls, (Module, Layer))):
            raise ValueError(f"custom_objects[{name!r}] = {cls!r}: custom_objects maps class names to "
                             "physnn.Module or Layer subclasses")
    return dict(custom_objects)


# --- architecture -----------------------------------------------------------------------------------


def _model_class(config: dict, custom: dict, path):
    """The registered (or custom_objects) class a subclassed model's config names; ValueError otherwise (the
    trust rule ``model_from_config`` applies to every subclassed model of a file, nested ones included)."""
    module, qualname = config["module"], config["qualname"]
    if not (isinstance(module, str) and isinstance(qualname, str)):
        raise ValueError(f"{path}: a subclassed model's module and qualname must be strings")
    full = f"{module}.{qualname}"
    cls = custom.get(full) or custom.get(qualname) or _MODELS.get(full)
    if cls is None:
        raise ValueError(
            f"{path}: the file names the class {full!r}, which load_model does not rebuild: it builds only "
            f"physnn's classes and those registered with @physnn.register_serializable or passed as "
            f"load_model(path, custom_objects={{{qualname!r}: {qualname}}})")
    if not (isinstance(cls, type) and issubclass(cls, _ENGINE["Module"])):
        raise ValueError(f"{path}: the class {full!r} is not a physnn.Module subclass")
    return cls


def _count_models(config) -> int:
    """How many models a configuration builds (itself and the models nested in a Sequential)."""
    if not isinstance(config, dict) or config.get("kind") != "Sequential" or not isinstance(config.get("layers"), list):
        return 1
    return 1 + sum(_count_models(c.get("config")) for c in config["layers"]
                   if isinstance(c, dict) and c.get("class_name") == "Module")


def _rebuild(config, custom: dict, path):
    """The model a file's configuration describes, through the model classes' from_config; only physnn's
    classes, registered ones and ``custom`` may be built."""
    return _ENGINE["from_config"](config, custom, lambda c: _model_class(c, custom, path), str(path))


# --- optimiser and loss -------------------------------------------------------------------------------


_NOT_STORABLE = " cannot be stored in a model file; save with include_optimizer=False (architecture and weights " \
                "only) and compile the loaded model again"


def _compile_state(model) -> dict | None:
    """The optimiser, loss and metrics as a configuration ``_recompile`` rebuilds; ValueError naming the
    part that only Python code describes (a functional optimiser, a custom learning-rate function, a
    callable loss such as PhysicsGuidedLoss, a metric callable)."""
    if model.loss is None:
        return None
    optimizer = model.optimizer
    if type(optimizer) not in _OPTIMIZERS.values():
        raise ValueError(f"the optimiser {optimizer!r} (a functional optimiser or a Scheduler subclass)"
                         f"{_NOT_STORABLE}; compile with a physnn Scheduler such as Adam(1e-3)")
    opt_config = optimizer.get_config()
    rate_key = next((k for k in _RATE_KEYS if k in opt_config), "eta")
    if callable(optimizer.eta):
        schedule = getattr(optimizer.eta, "physnn_schedule", None)
        if schedule is None or schedule["name"] not in _SCHEDULES:
            raise ValueError(f"the learning-rate function {rate_key}={optimizer.eta!r} of {type(optimizer).__name__}"
                             f"{_NOT_STORABLE}; the schedules of physnn.schedulers ({', '.join(_SCHEDULES)}) "
                             "can be stored")
        opt_config[rate_key] = {"schedule": schedule["name"], "config": schedule["config"]}
    if isinstance(model.loss, str):
        loss = {"name": model.loss}
    elif _COST_FUNCTIONS.get(getattr(model.loss, "__name__", None)) is model.loss:
        loss = {"function": model.loss.__name__}
    else:
        try:  # a physnn.losses object (by class name and configuration) or function (by name)
            loss = {"keras": losses.serialize(model.loss)}
        except ValueError:
            raise ValueError(f"the loss {model.loss!r}{_NOT_STORABLE}") from None
    for name, fn in model.metrics:
        if metrics.METRICS.get(name) is not fn:
            raise ValueError(f"the metric {name!r} ({fn!r}){_NOT_STORABLE}")
    return {"optimizer": {"class": _OPTIMIZER_NAMES[type(optimizer)], "config": opt_config}, "loss": loss,
            "metrics": [name for name, _ in model.metrics]}


def _recompile(model, config, path) -> bool:
    """Compile ``model`` as ``config`` (from ``_compile_state``) says; False for an uncompiled model."""
    if config is None or config["optimizer"] is None or config["loss"] is None:
        return False  # (files of earlier versions recorded what they could not store as None)
    loss = config["loss"]
    if isinstance(loss, str):  # earlier versions: a LOSSES name or the name of a physnn.costs function
        loss = {"name": loss} if loss.lower() in costs.LOSSES else {"function": loss}
    opt_class = _OPTIMIZERS.get(config["optimizer"]["class"])
    if opt_class is None:
        raise ValueError(f"{path}: unknown optimiser class {config['optimizer']['class']!r}")
    opt_config = dict(config["optimizer"]["config"])
    for rate_key in _RATE_KEYS:
        if isinstance(opt_config.get(rate_key), dict):
            eta = opt_config[rate_key]
            if eta["schedule"] not in _SCHEDULES:
                raise ValueError(f"{path}: unknown learning-rate schedule {eta['schedule']!r}")
            schedule = _SCHEDULES[eta["schedule"]]
            check_config(schedule, eta["config"], f"{path}: schedule {eta['schedule']}")
            opt_config[rate_key] = schedule(**eta["config"])
    check_config(opt_class, opt_config, f"{path}: optimiser {opt_class.__name__}")
    if "keras" in loss:
        loss = losses.deserialize(loss["keras"])
    elif "function" in loss:
        if loss["function"] not in _COST_FUNCTIONS:
            raise ValueError(f"{path}: unknown loss function {loss['function']!r}")
        loss = _COST_FUNCTIONS[loss["function"]]
    elif not (isinstance(loss["name"], str) and (loss["name"].lower() in costs.LOSSES
                                                 or loss["name"].lower() in losses.FUNCTIONS)):
        raise ValueError(f"{path}: unknown loss {loss['name']!r}")
    else:
        loss = loss["name"]
    if not all(isinstance(m, str) for m in config["metrics"]):
        raise ValueError(f"{path}: metrics must be names, got {config['metrics']!r}")
    model.compile(opt_class(**opt_config), loss, config["metrics"])
    return True


# --- arrays, by layer position ----------------------------------------------------------------------


def _layer_names(model) -> list[str]:
    return model.param_names


def _positional(model, by_name: dict) -> list:
    return [by_name.get(name, {}) for name in _layer_names(model)]


def _opt_positional(model, opt_state) -> dict:
    if hasattr(opt_state, "_asdict"):  # a NamedTuple state is stored by field name, as the dict states were
        opt_state = opt_state._asdict()
    layer_names = set(model.params)
    return {k: _positional(model, v) if isinstance(v, dict) and set(v) == layer_names else v
            for k, v in opt_state.items()}


def _by_name(model, positional: list, keep) -> dict:
    return {name: p for name, p in zip(_layer_names(model), positional) if name in keep}


def _flatten(prefix: str, tree) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {prefix + jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def _fill(prefix: str, template, arrays: dict[str, np.ndarray], path):
    """The pytree ``template`` with every leaf replaced by the stored array of the same path and shape (and
    dtype kind; it takes the template's precision, which the load chose from the file's dtype)."""
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
        dtype = np.dtype(jnp.result_type(leaf))
        if stored.dtype.kind != dtype.kind:
            raise ValueError(f"{path}: array {key!r} has dtype {stored.dtype}, the architecture needs {dtype}")
        filled.append(jnp.asarray(stored, dtype))
    return jax.tree_util.tree_unflatten(treedef, filled)


def _checksum(config_text: str, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(config_text.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _float_dtype(params) -> str | None:
    kinds = {str(np.dtype(jnp.result_type(p))) for p in jax.tree_util.tree_leaves(params)
             if np.dtype(jnp.result_type(p)).kind == "f"}
    return "float64" if "float64" in kinds else ("float32" if kinds else None)


# --- writing ------------------------------------------------------------------------------------------


def _target(path) -> Path:
    """The file ``save_model`` writes: ``path`` itself, or ``path + ".npz"`` when it has no suffix at all."""
    path = Path(path)
    return path if path.suffix else path.with_name(path.name + ".npz")


def _write_archive(f, members: dict[str, np.ndarray]) -> None:
    """An .npz archive (what ``np.savez`` writes: uncompressed ``name.npy`` members) on the open file ``f``."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in members.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


# The course's FFNN: its functions by name (only physnn's own can be stored).
_FFNN_ACTIVATIONS = {fn.__name__: fn for fn in activations.ACTIVATIONS.values()}


def _function_name(fn, known: dict, what: str) -> str:
    name = getattr(fn, "__name__", None)
    if known.get(name) is not fn:
        raise ValueError(f"cannot save this FFNN: its {what} {fn!r} is not one of physnn's ({', '.join(known)}); "
                         "a model file names physnn's own functions only")
    return name


def _ffnn_config(net) -> dict:
    return {"kind": "FFNN", "dimensions": list(net.dimensions), "seed": net.seed,
            "hidden_func": _function_name(net.hidden_func, _FFNN_ACTIVATIONS, "hidden_func"),
            "output_func": _function_name(net.output_func, _FFNN_ACTIVATIONS, "output_func"),
            "cost_func": _function_name(net.cost_func, _COST_FUNCTIONS, "cost_func")}


def _restore_ffnn(config: dict, arrays: dict[str, np.ndarray], path):
    FFNN = _ENGINE["FFNN"]
    check_config(FFNN, {k: v for k, v in config.items() if k != "kind"}, "FFNN")
    functions = {}
    for key, known in (("hidden_func", _FFNN_ACTIVATIONS), ("output_func", _FFNN_ACTIVATIONS),
                       ("cost_func", _COST_FUNCTIONS)):
        if not isinstance(config[key], str) or config[key] not in known:
            raise ValueError(f"{path}: FFNN {key} {config[key]!r} is not one of physnn's ({', '.join(known)})")
        functions[key] = known[config[key]]
    dimensions = config["dimensions"]
    if not isinstance(dimensions, list) or not all(type(d) is int for d in dimensions):
        raise ValueError(f"{path}: FFNN dimensions must be a list of integers, got {dimensions!r}")
    stored = sum(a.size for k, a in arrays.items() if k.startswith("weights"))
    if sum((a + 1) * b for a, b in zip(dimensions[:-1], dimensions[1:])) != stored:
        raise ValueError(f"{path}: FFNN{tuple(dimensions)} does not match the {stored} stored weights")
    net = FFNN(dimensions, seed=config["seed"], **functions)
    weights = _fill("weights", list(net.weights), arrays, path)
    net.weights = weights
    return net


def _save_ffnn(net, path: Path) -> Path:
    dtype = _float_dtype(net.weights)
    config = {"model": _ffnn_config(net), "layer_types": [],
              "compile": None, "dtype": dtype, "fits": int(net._fits)}
    arrays = _flatten("weights", list(net.weights))
    return write_file(path, config, arrays)


def write_file(path, config: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write a physnn file atomically to ``path`` (".npz" appended when it has no suffix): the JSON ``config``,
    stamped with the format and version ``read_file`` checks, and the numeric ``arrays`` in an .npz archive with
    a SHA-256 checksum over both (it detects damage, not tampering). Every physnn model file goes through it.
    Returns the path written."""
    path = _target(path)
    config_text = json.dumps({"format": FORMAT, "version": VERSION, **config}, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    members = {"__config__": np.frombuffer(config_text.encode(), np.uint8),
               "__checksum__": np.frombuffer(_checksum(config_text, arrays).encode(), np.uint8), **arrays}
    return _io.write_atomically(path, lambda f: _write_archive(f, members))


def save_model(model, path, include_optimizer: bool = True) -> Path:
    """Write ``model`` to ``path`` and return the path written.

    The file is exactly ``path`` (``"m.keras"`` writes ``m.keras``); only a path without any suffix gets
    ".npz" appended (``"plain"`` writes ``plain.npz``, which ``load_model("plain")`` finds). The write is
    atomic: a temporary file is renamed over ``path``, so an interrupted save keeps the previous file.

    The file holds the architecture, weights, layer state, the fit counter and, when
    ``include_optimizer``, the optimiser, loss, metrics and optimiser state. A compile setting that only
    Python code describes (a functional optimiser, a custom learning-rate function, a callable loss such as
    ``PhysicsGuidedLoss``, a metric callable) raises ValueError naming it; ``include_optimizer=False``
    saves the rest, and the loaded model is then uncompiled.
    """
    if isinstance(model, _ENGINE["FFNN"]):  # (its optimiser state is made afresh by every fit: there is none to keep)
        return _save_ffnn(model, _target(path))
    if not model.built:
        raise ValueError(f"model '{model.name}' is not built; nothing to save")
    path = _target(path)
    config = {"model": _ENGINE["to_config"](model),
              "layer_types": [type(layer).__name__ for layer in model.layers],
              "compile": _compile_state(model) if include_optimizer else None,
              "dtype": _float_dtype(model.params), "fits": int(model._fits)}
    arrays = _flatten("params", _positional(model, model.params))
    arrays.update(_flatten("state", _positional(model, model.state)) if model.state else {})
    if model.opt_state is not None and config["compile"] is not None:
        arrays.update(_flatten("opt", _opt_positional(model, model.opt_state)))
        config["has_opt_state"] = True
    return write_file(path, config, arrays)


# --- reading ------------------------------------------------------------------------------------------


class _Refused(ValueError):
    """A limit or rule of the format broken (kept apart from the zip library's own errors)."""


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path) -> np.ndarray:
    """One ``.npy`` member, its header (dtype, shape) checked against the declared size before the data is
    read: numeric dtypes only, and exactly as many bytes as the shape needs."""
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise _Refused(f"{path}: array {info.filename!r} has unsupported .npy version {version}")
        if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields is not None or dtype.subdtype:
            raise _Refused(f"{path}: array {info.filename!r} has dtype {dtype}; a model file holds numeric "
                           "arrays only")
        if not all(type(s) is int and s >= 0 for s in shape):
            raise _Refused(f"{path}: array {info.filename!r} declares the shape {shape!r}")
        nbytes = math.prod(shape) * dtype.itemsize
        if f.tell() + nbytes != info.file_size:
            raise _Refused(f"{path}: array {info.filename!r} declares shape {shape} of {dtype} ({nbytes} bytes), "
                           f"but its member holds {info.file_size - f.tell()} bytes of data")
        data = f.read(nbytes)
        if len(data) != nbytes or f.read(1):  # (reading to the end also checks the CRC)
            raise _Refused(f"{path}: array {info.filename!r} is truncated")
    array = np.frombuffer(data, dtype)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def _read_archive(path: Path) -> dict[str, np.ndarray]:
    """The arrays of the .npz at ``path``, every member's declared size checked before it is read."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise _Refused(f"{path} has {len(infos)} members, more than the {MAX_MEMBERS} a model file may")
            names, stored = set(), 0
            for info in infos:
                name = info.filename
                if not name.endswith(".npy") or name in names:
                    raise _Refused(f"{path}: unexpected or repeated member {name!r} (a model file holds .npy "
                                   "arrays only)")
                names.add(name)
                limit = MAX_CONFIG_BYTES + 1024 if name == "__config__.npy" else MAX_MEMBER_BYTES
                if info.file_size > limit:
                    raise _Refused(f"{path}: member {name!r} declares {info.file_size} bytes, more than the "
                                   f"{limit} allowed")
                if info.compress_type == zipfile.ZIP_STORED:
                    if info.file_size != info.compress_size:
                        raise _Refused(f"{path}: stored member {name!r} declares {info.file_size} bytes but "
                                       f"occupies {info.compress_size}")
                elif info.compress_type == zipfile.ZIP_DEFLATED:
                    if info.file_size > (1 << 20) + MAX_COMPRESSION_RATIO * info.compress_size:
                        raise _Refused(f"{path}: member {name!r} declares {info.file_size} bytes uncompressed "
                                       f"from {info.compress_size} compressed (a decompression bomb)")
                else:
                    raise _Refused(f"{path}: member {name!r} uses unsupported compression {info.compress_type}")
                stored += info.compress_size
            if stored > size:
                raise _Refused(f"{path}: its members declare {stored} bytes, more than the file's {size}")
            return {info.filename[:-4]: _read_member(archive, info, path) for info in infos}
    except _Refused:
        raise
    except Exception as err:  # zipfile, struct, zlib, ValueError (.npy header), NotImplementedError, ...
        raise ValueError(f"{path} is not a readable physnn model file (truncated or corrupt: {err})") from None


def _parse_config(text: str, path) -> dict:
    """The JSON configuration (already decoded), its nesting depth bounded."""
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as err:  # (JSONDecodeError is a ValueError)
        raise ValueError(f"{path}: the configuration is not valid JSON ({type(err).__name__})") from None
    pending = [(config, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"{path}: the configuration nests deeper than {MAX_JSON_DEPTH} levels")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        pending.extend((child, depth + 1) for child in children)
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the configuration must be a JSON object")
    return config


def _find(path) -> Path:
    path = Path(path)
    if not path.exists() and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")
    if not path.exists():
        raise ValueError(f"{path}: no such model file")
    return path


def load_model(path, custom_objects: dict | None = None):
    """Rebuild a model saved with ``model.save(path)``: architecture, weights, state, optimiser state.

    Only physnn's own classes are rebuilt, plus subclassed models and custom layers registered with
    ``physnn.register_serializable`` or passed as ``custom_objects`` (class name -> class); a file naming
    any other class raises ValueError naming it. ``path`` without a suffix also finds ``path + ".npz"``.

    Raises ``ValueError`` for a missing, truncated, corrupt, crafted or foreign file, or one whose arrays do
    not fit its architecture. A float64 model must be loaded with ``jax.enable_x64(True)``.
    """
    path = _find(path)
    custom = _custom_objects(custom_objects)
    config, arrays = read_file(path)
    kind = config["model"].get("kind") if isinstance(config.get("model"), dict) else None
    if kind in _FILE_KINDS:  # models of other physnn modules (the echo state network)
        return _FILE_KINDS[kind](config, arrays, path)
    try:
        return _restore(config, arrays, custom, path)
    except (KeyError, TypeError, AttributeError, IndexError) as err:  # crafted contents of a valid file
        raise ValueError(f"{path}: malformed model configuration ({type(err).__name__}: {err})") from err


def read_file(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(config, arrays) of a physnn file, every limit checked before anything large is read, the checksum
    verified and the format and version checked; ValueError for anything else."""
    path = Path(path)
    arrays = _read_archive(path)
    if "__config__" not in arrays or "__checksum__" not in arrays:
        raise ValueError(f"{path} is not a physnn model file (no configuration or checksum)")
    config_array, checksum_array = arrays.pop("__config__"), arrays.pop("__checksum__")
    if config_array.dtype != np.uint8 or checksum_array.dtype != np.uint8:
        raise ValueError(f"{path}: the configuration and checksum must be uint8 arrays")
    try:
        config_text = config_array.tobytes().decode("utf-8")
        checksum = checksum_array.tobytes().decode("ascii")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: the configuration or checksum is not text") from None
    if _checksum(config_text, arrays) != checksum:
        raise ValueError(f"{path} is corrupt: its checksum does not match its contents")
    config = _parse_config(config_text, path)
    if config.get("format") != FORMAT or config.get("version") != VERSION:
        raise ValueError(f"{path}: unsupported format {config.get('format')!r} version {config.get('version')!r}")
    return config, arrays


def _restore(config: dict, arrays: dict[str, np.ndarray], custom: dict, path):
    dtype = config.get("dtype")
    if dtype not in (None, "float32", "float64"):
        raise ValueError(f"{path}: unsupported dtype {dtype!r}")
    if dtype == "float64" and not jax.config.jax_enable_x64:
        raise ValueError(f"{path} holds a float64 model; load it inside `with jax.enable_x64(True):` (or set "
                         "JAX_ENABLE_X64=1) so it is not silently rounded to float32")
    fits = config.get("fits", 0)
    if type(fits) is not int or fits < 0:
        raise ValueError(f"{path}: the fit counter must be an integer >= 0, got {fits!r}")
    if isinstance(config["model"], dict) and config["model"].get("kind") == "FFNN":
        with jax.enable_x64(dtype == "float64"):
            net = _restore_ffnn(config["model"], arrays, path)
        net._fits = fits
        return net
    n_params = sum(a.size for k, a in arrays.items() if k.startswith("params"))
    # The rebuilt architecture must fit the stored arrays, so its initialisers may create about as many
    # numbers (once per nested model, which builds itself; plus some slack so a mismatch is reported as such).
    budget = (n_params + (1 << 20)) * _count_models(config["model"])
    x64 = jax.config.jax_enable_x64 if dtype is None else dtype == "float64"
    with jax.enable_x64(x64), initializers.allocation_limit(budget, str(path)):
        model = _rebuild(config["model"], custom, path)
        types = [type(layer).__name__ for layer in model.layers]
        if types != config["layer_types"]:
            raise ValueError(f"{path}: rebuilt layers {types} differ from the saved {config['layer_types']}")
        model.params = _by_name(model, _fill("params", _positional(model, model.params), arrays, path),
                                model.params)
        state_keys = [k for k in arrays if k.startswith("state")]
        if state_keys:
            batch = arrays[state_keys[0]].shape[0]
            if batch * math.prod(int(s) for s in model.input_shape) > MAX_BATCH_ELEMENTS:
                raise ValueError(f"{path}: the layer state of batch {batch} for inputs {model.input_shape} is "
                                 "larger than a model file may declare")
            model.reset_states(batch_size=batch)
            model.state = _by_name(model, _fill("state", _positional(model, model.state), arrays, path),
                                   model.state)
        if _recompile(model, config["compile"], path) and config.get("has_opt_state"):
            fresh = model._optimizer_fn.init(model.trainable_params())
            template = _opt_positional(model, fresh)
            filled = _fill("opt", template, arrays, path)
            layer_names = _layer_names(model)
            by_name = {k: ({n: p for n, p in zip(layer_names, v)} if isinstance(v, list) else v)
                       for k, v in filled.items()}
            model.opt_state = type(fresh)(**by_name) if hasattr(fresh, "_asdict") else by_name
    model._fits = fits
    return model


__all__ = ["load_model", "read_file", "register_file_kind", "register_serializable", "save_model", "write_file"]
