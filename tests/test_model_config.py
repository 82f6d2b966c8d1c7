"""Models own their configuration: get_config/from_config on Sequential, the functional Model and subclassed
models; physnn.saving builds and rebuilds architectures through them (no private attributes, no import
cycle between models, ffnn and saving)."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import physnn
from physnn import layers
from physnn.models import Model, Module, Sequential, model_from_config, model_to_config

X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)


class Scaled(Module):
    def __init__(self, width=3, name=None, seed=0):
        super().__init__(name=name, seed=seed)
        self.width = width
        self.dense = layers.Dense(width, name="scaled_dense")

    def call(self, inputs, training=False):
        return 2.0 * self.dense(inputs)

    def get_config(self):
        return {"width": self.width}


def _functional():
    a, b = physnn.Input((4,)), physnn.Input((2,))
    h = layers.Dense(3, activation="tanh", name="h")(a)
    y = layers.Dense(1, name="y")(layers.Concatenate(name="cat")([h, b]))
    return Model([a, b], [y, h], name="two_in_two_out", seed=3)


def test_sequential_config_round_trip_is_json_and_rebuilds_the_same_architecture():
    model = Sequential([physnn.Input((4,)), layers.Dense(3, activation="relu", name="d1"),
                        Sequential([layers.Dense(2, name="inner_d")], name="inner"), layers.Dense(1, name="d2")],
                       name="outer", seed=7)
    config = model.get_config()
    assert set(config) == {"name", "seed", "input_shape", "layers"} and config["seed"] == 7
    assert config["layers"][1]["class_name"] == "Module" and config["layers"][1]["config"]["kind"] == "Sequential"
    config = json.loads(json.dumps(config))
    twin = Sequential.from_config(config)
    assert twin.built and twin.name == "outer" and twin.seed == 7 and twin.input_shape == (4,)
    assert [type(layer).__name__ for layer in twin.layers] == [type(layer).__name__ for layer in model.layers]
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))  # same seed, same initial weights
    assert twin.get_config() == config


def test_functional_config_round_trip_keeps_several_inputs_and_outputs():
    model = _functional()
    config = json.loads(json.dumps(model.get_config()))
    assert config["multi_input"] and config["multi_output"] and config["inputs"] == [[4], [2]]
    twin = Model.from_config(config)
    assert twin.is_functional and twin.multi_input and twin.get_config() == config
    inputs = [X, X[:, :2]]
    for a, b in zip(twin.predict(inputs), model.predict(inputs)):
        np.testing.assert_array_equal(a, b)


def test_subclassed_config_is_its_constructor_arguments():
    model = Scaled(width=4, name="sc", seed=2)
    model.build((4,))
    assert model.get_config() == {"width": 4}
    assert Scaled.from_config({"width": 4}).width == 4
    with pytest.raises(ValueError, match=r"model class Scaled: unknown configuration key\(s\) \['depth'\]"):
        Scaled.from_config({"depth": 4})
    described = model_to_config(model)
    assert described["kind"] == "Subclassed" and described["qualname"] == "Scaled"
    assert described["config"] == {"width": 4} and described["input_shape"] == [4]
    with pytest.raises(ValueError, match="needs model_class"):
        model_from_config(described)
    twin = model_from_config(json.loads(json.dumps(described)), model_class=lambda c: Scaled)
    assert (twin.name, twin.seed, twin.width) == ("sc", 2, 4)
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))


def test_model_to_config_is_the_file_format():
    """Files written before keep loading: the 'model' entry of a file is model_to_config."""
    model = Sequential([physnn.Input((4,)), layers.Dense(2, name="only")], seed=1)
    assert model_to_config(model) == {"kind": "Sequential", "name": "sequential", "seed": 1, "input_shape": [4],
                                      "layers": [layers.serialize(model.layers[0])]}
    functional = _functional()
    assert model_to_config(functional) == {"kind": "Functional", **functional.get_config()}


def test_a_nested_subclassed_model_goes_through_the_resolver():
    inner = Scaled(width=2, name="inner_sc")
    model = Sequential([physnn.Input((4,)), inner], name="holder")
    config = json.loads(json.dumps(model_to_config(model)))
    seen = []
    twin = model_from_config(config, model_class=lambda c: seen.append(c["qualname"]) or Scaled)
    assert seen == ["Scaled"] and twin.predict(X).shape == (5, 2)
    with pytest.raises(ValueError, match="needs model_class"):
        model_from_config(config)


def test_saving_uses_no_private_model_attribute_and_imports_no_model_module():
    source = (pathlib.Path(physnn.__file__).parent / "saving.py").read_text()
    for private in ("._stack", "._nodes", "._inputs", "._outputs", "._multi_input", "._multi_output", "._layers",
                    "from physnn.models", "from physnn.ffnn", "import physnn.models"):
        assert private not in source, private
    for module in ("models.py", "ffnn.py"):
        text = (pathlib.Path(physnn.__file__).parent / module).read_text()
        assert "    from physnn.saving" not in text  # no lazy import dodging a cycle


@pytest.mark.parametrize("module", ["physnn.saving", "physnn.models", "physnn.ffnn", "physnn.layers"])
def test_each_module_imports_first_in_a_fresh_process(module):
    code = f"import {module}; from physnn.saving import load_model, save_model; import physnn.saving as s; " \
           "assert {'Module', 'FFNN', 'to_config', 'from_config'} <= set(s._ENGINE)"
    subprocess.run([sys.executable, "-c", code], check=True)
