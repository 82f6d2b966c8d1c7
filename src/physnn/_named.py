"""Objects described by class name and constructor arguments, rebuilt only from a fixed table of classes.

Initializers, regularizers, losses and optimizers are stored in model files as ``{"class_name", "config"}``;
``rebuild`` makes one again from its module's ``CLASSES`` table only, so a file never names code to import.
"""

from __future__ import annotations


def describe(obj, classes: dict, kind: str) -> dict:
    """``{"class_name": ..., "config": obj.get_config()}`` for an instance of one of ``classes`` (name -> class);
    ValueError naming ``kind`` for anything else."""
    if classes.get(type(obj).__name__) is not type(obj):
        raise ValueError(f"{obj!r} is not one of physnn's {kind}s ({sorted(classes)}): only those can be described "
                         "by name")
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def rebuild(config, classes: dict, kind: str, aliases: dict | None = None):
    """The object ``describe`` described: ``classes[class_name](**config)`` (or ``aliases[class_name.lower()]``);
    ValueError naming ``kind`` for a malformed description, a class outside the table or bad arguments."""
    if not (isinstance(config, dict) and set(config) >= {"class_name", "config"}
            and isinstance(config["config"], dict)):
        raise ValueError(f"a {kind} configuration is {{'class_name': ..., 'config': {{...}}}}, got {config!r}")
    cls = classes.get(config["class_name"]) or (aliases or {}).get(str(config["class_name"]).lower())
    if cls is None:
        raise ValueError(f"unknown {kind} class {config['class_name']!r}; known: {sorted(classes)}")
    try:
        return cls(**config["config"])
    except TypeError as err:
        raise ValueError(f"{kind} {config['class_name']}: bad configuration {config['config']!r} ({err})") from None
