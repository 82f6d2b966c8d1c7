"""Guards against silent traps found in review: duplicate layer names, phantom experiment modules."""

import pkgutil

import numpy as np
import pytest

import physnn
from physnn import experiments
from physnn.experiments import registry
from physnn.layers import Dense, Input


def test_two_layers_with_one_name_are_refused_naming_it():
    with pytest.raises(ValueError, match="two different layers are named 'twin'"):
        physnn.Sequential([Input((3,)), Dense(4, name="twin"), Dense(4, name="twin")])
    x = Input((3,))
    with pytest.raises(ValueError, match="'twin'"):
        physnn.Model(x, Dense(2, name="twin")(Dense(3, name="twin")(x)))


def test_one_layer_called_twice_shares_its_weights():
    shared = Dense(3, name="shared")

    class Twice(physnn.Module):
        def call(self, x):
            return shared(shared(x))

    model = Twice()
    model.build((3,))
    assert list(model.params) == ["shared"]
    assert model.predict(np.ones((2, 3))).shape == (2, 3)


def test_every_registered_experiment_module_exists_and_every_module_is_registered():
    modules = {m.name for m in pkgutil.iter_modules(experiments.__path__)} - {"registry", "plots"}
    assert sorted(registry.EXPERIMENT_MODULES) == sorted(modules)
    errors = {}
    registry.all_experiments(errors)
    assert errors == {}
