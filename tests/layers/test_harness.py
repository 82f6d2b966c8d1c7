"""Every registered layer through the one harness (``harness.run_layer_test``), and the guard that keeps the
table, the registry and the ``physnn.layers`` exports in step: a layer class added later without a row here
fails ``test_the_table_covers_every_registered_layer``."""

import importlib
import pkgutil

import pytest
import torch
import torch.nn.functional as F
from harness import run_layer_test
from test_dense_conv_layers import (
    _conv_reference,
    _conv_to_torch,
    _linear_to_torch,
    _to_channels_first,
    _to_channels_last,
)
from test_pooling_reshape_layers import _nchw, _nhwc, _torch_pool
from test_recurrent_layers import _last_hidden, _rnn_to_torch

import physnn
import physnn.layers as L
from physnn import initializers, regularizers
from physnn.layers.base import LAYERS


class _Steps(torch.nn.Module):
    """TrainingSteps' reference: the step count t (a weight) as [batch, 1]."""

    def __init__(self):
        super().__init__()
        self.steps = torch.nn.Parameter(torch.zeros(()))

    def forward(self, t):
        return self.steps.expand(t.shape[0], 1) + 0 * t[:, :1]  # (the input gradient: zero, as physnn's)


def _conv(rank, spatial, kernel, stride, padding, channels, filters):
    module, torch_input = _conv_reference(rank, spatial, kernel, stride, padding, channels, filters)
    return (module, lambda p: _conv_to_torch(p, rank),
            {"torch_input": torch_input, "torch_output": _to_channels_last})


def _pool(kind, spatial, pool, strides, padding):
    if kind == "min":
        run = _torch_pool("max", spatial, pool, strides, padding)
        return (lambda t: -run(-t)), (lambda p: {}), {}
    return _torch_pool(kind, spatial, pool, strides, padding), (lambda p: {}), {}


def _bidirectional_lstm_to_torch(p):
    return {**_rnn_to_torch(p["forward"], "lstm"), **_rnn_to_torch(p["backward"], "lstm", "_l0_reverse")}


def _cat_final_states(out):
    return torch.cat([out[1][0][0], out[1][0][1]], dim=-1)


# class name -> (factory: **kwargs -> layer, per-sample input shape(s), Keras's parameter count,
#                torch reference (module, to_torch, compare_with_torch options) or None, harness options)
TABLE = {
    "Dense": (lambda **kw: L.Dense(4, activation="tanh", **kw), (3,), 3 * 4 + 4,
              (torch.nn.Linear(3, 4), _linear_to_torch, {"torch_output": torch.tanh}), {}),
    "Conv1D": (lambda **kw: L.Conv1D(4, 3, strides=2, padding="same", **kw), (8, 3), 3 * 3 * 4 + 4,
               _conv(1, (8,), (3,), (2,), "same", 3, 4), {}),
    "Conv2D": (lambda **kw: L.Conv2D(4, (2, 3), padding="valid", **kw), (5, 6, 2), 2 * 3 * 2 * 4 + 4,
               _conv(2, (5, 6), (2, 3), (1, 1), "valid", 2, 4), {}),
    "MaxPooling1D": (lambda **kw: L.MaxPooling1D(3, 2, "same", **kw), (7, 2), 0,
                     _pool("max", (7,), (3,), (2,), "same"), {}),
    "AveragePooling1D": (lambda **kw: L.AveragePooling1D(3, 2, "same", **kw), (7, 2), 0,
                         _pool("avg", (7,), (3,), (2,), "same"), {}),
    "MinPooling1D": (lambda **kw: L.MinPooling1D(2, **kw), (6, 2), 0, _pool("min", (6,), (2,), (2,), "valid"), {}),
    "MaxPooling2D": (lambda **kw: L.MaxPooling2D(2, **kw), (4, 6, 2), 0,
                     _pool("max", (4, 6), (2, 2), (2, 2), "valid"), {}),
    "AveragePooling2D": (lambda **kw: L.AveragePooling2D((3, 2), (2, 1), "same", **kw), (5, 4, 2), 0,
                         _pool("avg", (5, 4), (3, 2), (2, 1), "same"), {}),
    "MinPooling2D": (lambda **kw: L.MinPooling2D(2, **kw), (4, 4, 2), 0,
                     _pool("min", (4, 4), (2, 2), (2, 2), "valid"), {}),
    "Flatten": (lambda **kw: L.Flatten(**kw), (3, 2, 2), 0, (lambda t: t.reshape(t.shape[0], -1), dict, {}), {}),
    "Reshape": (lambda **kw: L.Reshape((2, -1), **kw), (3, 4), 0, (lambda t: t.reshape(t.shape[0], 2, 6), dict, {}),
                {}),
    "UpSampling2D": (lambda **kw: L.UpSampling2D((2, 3), **kw), (3, 2, 2), 0,
                     (lambda t: _nhwc(F.interpolate(_nchw(t), scale_factor=(2, 3), mode="nearest")), dict, {}), {}),
    "Dropout": (lambda **kw: L.Dropout(0.3, **kw), (5,), 0, (torch.nn.Dropout(0.3).eval(), dict, {}), {}),
    "GaussianNoise": (lambda **kw: L.GaussianNoise(0.5, **kw), (5,), 0, (torch.nn.Identity(), dict, {}), {}),
    "Sampling": (lambda **kw: L.Sampling(**kw), (6,), 0, (lambda t: t[:, :3], dict, {}), {}),
    "TrainingSteps": (lambda **kw: L.TrainingSteps(**kw), (3,), 1, (_Steps(), dict, {}), {}),
    "UpSampling1D": (lambda **kw: L.UpSampling1D(3, **kw), (4, 2), 0,
                     (lambda t: F.interpolate(t.transpose(1, 2), scale_factor=3, mode="nearest").transpose(1, 2),
                      dict, {}), {}),
    "Embedding": (lambda **kw: L.Embedding(10, 4, **kw), (6,), 40,
                  (torch.nn.Embedding(10, 4), lambda p: {"weight": p["embeddings"]}, {}), {"integer_high": 10}),
    "SimpleRNN": (lambda **kw: L.SimpleRNN(4, **kw), (5, 3), 3 * 4 + 16 + 4,
                  (torch.nn.RNN(3, 4, batch_first=True), lambda p: _rnn_to_torch(p, "rnn"),
                   {"torch_output": _last_hidden}), {}),
    "LSTM": (lambda **kw: L.LSTM(4, return_sequences=True, **kw), (5, 3), 4 * (3 * 4 + 16 + 4),
             (torch.nn.LSTM(3, 4, batch_first=True), lambda p: _rnn_to_torch(p, "lstm"),
              {"torch_output": lambda out: out[0]}), {}),
    "GRU": (lambda **kw: L.GRU(4, **kw), (5, 3), 3 * (3 * 4 + 16 + 2 * 4),
            (torch.nn.GRU(3, 4, batch_first=True), lambda p: _rnn_to_torch(p, "gru"),
             {"torch_output": _last_hidden}), {}),
    "Bidirectional": (lambda **kw: L.Bidirectional(L.LSTM(3), **kw), (4, 2), 2 * 4 * (2 * 3 + 9 + 3),
                      (torch.nn.LSTM(2, 3, batch_first=True, bidirectional=True), _bidirectional_lstm_to_torch,
                       {"torch_output": _cat_final_states}), {}),
    "Concatenate": (lambda **kw: L.Concatenate(**kw), [(3,), (2,)], 0, None, {}),
    "Add": (lambda **kw: L.Add(**kw), [(2, 3), (2, 3)], 0, None, {}),
    "Reservoir": (lambda **kw: L.Reservoir(6, seed=1, **kw), (5, 2), 6 * 6 + 6 * (1 + 2), None, {}),
    "Conv1DTranspose": (lambda **kw: L.Conv1DTranspose(4, 3, strides=2, **kw), (5, 3), 3 * 4 * 3 + 4,
                        (torch.nn.ConvTranspose1d(3, 4, 3, stride=2), lambda p: _conv_to_torch(p, 1),
                         {"torch_input": _to_channels_first, "torch_output": _to_channels_last}), {}),
    "Conv2DTranspose": (lambda **kw: L.Conv2DTranspose(4, (2, 3), strides=(2, 1), **kw), (3, 4, 2),
                        2 * 3 * 2 * 4 + 4,
                        (torch.nn.ConvTranspose2d(2, 4, (2, 3), stride=(2, 1)), lambda p: _conv_to_torch(p, 2),
                         {"torch_input": _to_channels_first, "torch_output": _to_channels_last}), {}),
    "BatchNormalization": (lambda **kw: L.BatchNormalization(**kw), (4, 3), 4 * 3, None,
                           {"positive": ("moving_variance",)}),  # (torch twin: test_keras_models)
    "Activation": (lambda **kw: L.Activation("tanh", **kw), (5,), 0, (torch.nn.Tanh(), dict, {}), {}),
    "RepeatVector": (lambda **kw: L.RepeatVector(3, **kw), (4,), 0,
                     (lambda t: t.unsqueeze(1).repeat(1, 3, 1), dict, {}), {}),
    "GlobalAveragePooling1D": (lambda **kw: L.GlobalAveragePooling1D(**kw), (6, 3), 0,
                               (lambda t: t.mean(dim=1), dict, {}), {}),
    "GlobalMaxPooling1D": (lambda **kw: L.GlobalMaxPooling1D(**kw), (6, 3), 0, (lambda t: t.amax(dim=1), dict, {}),
                           {}),
    "GlobalAveragePooling2D": (lambda **kw: L.GlobalAveragePooling2D(**kw), (4, 5, 2), 0,
                               (lambda t: t.mean(dim=(1, 2)), dict, {}), {}),
    "GlobalMaxPooling2D": (lambda **kw: L.GlobalMaxPooling2D(**kw), (4, 5, 2), 0,
                           (lambda t: t.amax(dim=(1, 2)), dict, {}), {}),
    "LayerNormalization": (lambda **kw: L.LayerNormalization(**kw), (4, 6), 2 * 6,
                           (torch.nn.LayerNorm(6, eps=1e-3), lambda p: {"weight": p["gamma"], "bias": p["beta"]},
                            {}), {}),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_every_registered_layer_passes_the_harness(name, tmp_path):
    factory, input_shape, expected, reference, options = TABLE[name]
    layer = run_layer_test(factory, input_shape, expected_params=expected, torch_reference=reference,
                           tmp_path=tmp_path, **options)
    assert type(layer) is LAYERS[name]


# Keras's weight arguments (tests/layers/test_keras_arguments.py) through the same checks: the configurations
# holding initializer and regularizer objects survive serialisation and model files, with the layer's function
KERAS_ARGUMENTS = {
    "Dense": (lambda **kw: L.Dense(4, kernel_initializer=initializers.HeNormal(seed=1), bias_initializer="ones",
                                   kernel_regularizer=regularizers.L2(0.1), activity_regularizer="l1", **kw),
              (3,), 3 * 4 + 4),
    "Conv1D": (lambda **kw: L.Conv1D(2, 3, kernel_initializer="lecun_uniform", bias_regularizer=regularizers.L1(0.5),
                                     **kw), (6, 2), 3 * 2 * 2 + 2),
    "LSTM": (lambda **kw: L.LSTM(3, recurrent_initializer=initializers.Orthogonal(gain=0.5), unit_forget_bias=False,
                                 recurrent_regularizer=regularizers.L1L2(0.01, 0.02), **kw), (4, 2), 4 * (6 + 9 + 3)),
    "Embedding": (lambda **kw: L.Embedding(7, 3, embeddings_initializer=initializers.RandomNormal(stddev=0.1, seed=4),
                                           embeddings_regularizer="l1", **kw), (5,), 21),
    "Bidirectional": (lambda **kw: L.Bidirectional(L.GRU(2, kernel_initializer="glorot_normal",
                                                         kernel_regularizer="l2"), **kw), (4, 3),
                      2 * 3 * (3 * 2 + 4 + 2 * 2)),
}


@pytest.mark.parametrize("name", sorted(KERAS_ARGUMENTS))
def test_keras_weight_arguments_pass_the_harness(name, tmp_path):
    factory, input_shape, expected = KERAS_ARGUMENTS[name]
    options = {"integer_high": 7} if name == "Embedding" else {}
    layer = run_layer_test(factory, input_shape, expected_params=expected, tmp_path=tmp_path, **options)
    assert type(layer) is LAYERS[name]


def _import_every_physnn_module():
    from physnn.experiments import registry

    registry.all_experiments()  # first, in tour order: the experiment registry keeps the order of import
    for module in pkgutil.walk_packages(physnn.__path__, "physnn."):
        importlib.import_module(module.name)


def test_the_table_covers_every_registered_layer_and_physnn_layers_exports_it():
    _import_every_physnn_module()  # a layer class anywhere in physnn is registered once its module runs
    assert sorted(TABLE) == sorted(LAYERS), "add a row to TABLE for each new layer (and only for layers)"
    for name, cls in LAYERS.items():
        assert name in L.__all__ and getattr(L, name) is cls, f"physnn.layers does not export {name}"


def test_the_registry_holds_physnn_classes_only():
    class UserLayer(L.Layer):  # defined by user code: not loadable from a file unless registered
        def apply(self, params, x, *, key=None, training=False):
            return x

    assert "UserLayer" not in LAYERS
    assert all(cls.__module__.startswith("physnn.") and not name.startswith("_") for name, cls in LAYERS.items())
    with pytest.raises(ValueError, match="Unknown layer class_name='UserLayer'"):
        L.deserialize({"class_name": "UserLayer", "config": {}})


def test_two_physnn_layer_classes_with_one_name_are_refused():
    with pytest.raises(TypeError, match="two physnn layer classes are named 'Dense'"):
        type("Dense", (L.Layer,), {"__module__": "physnn.elsewhere"})
    assert LAYERS["Dense"] is L.Dense
