"""Convolution layers (channels-last, as Keras): im2col patches times the kernel matrix.

Small inputs (the course's images) are convolved as one matrix product: the patch matrix
P [batch * prod(spatial_out), k_1 ... k_r c_in] of the (padded) input, gathered with one ``jnp.take`` of
precomputed indices, multiplies the kernel reshaped to [k_1 ... k_r c_in, filters]. On a CPU this is several
times faster than XLA's direct convolution for such sizes (digits CNN epoch measured 159 -> 30 ms wall).
Its derivative is set by hand (``im2col_convolution``): d(P K) = P_s(dx) K + P dK, so that reverse mode
gets dL/dK = P^T dL/dy as one plain product instead of the transpose of a product with the gather fused in
(bench_scaling.py's CNN epoch, batch 128: 1.65-1.86 -> 1.46-1.55 s in paired runs). Inputs whose patch
matrix would exceed ``IM2COL_MAX_ELEMENTS`` per sample fall back to ``lax.conv_general_dilated``; both compute
the same sums.
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from physnn import _checks
from physnn.activations import get_activation
from physnn.layers._utils import add_bias, normalize_padding, normalize_tuple, same_padding, window_output_length
from physnn.layers.base import Layer
from physnn.layers.dense import check_positive_int

IM2COL_MAX_ELEMENTS = 1 << 18  # patch-matrix entries per sample above which the direct convolution is used


def patch_indices(spatial, out_spatial, kernel_size, strides) -> np.ndarray:
    """Flat input positions of every patch entry: [prod(out_spatial) * prod(kernel_size)], output position
    major, then the kernel offsets (d_1, ..., d_r) in row-major order; entry (p, d) is the flattened index of
    s p + d in an input of shape ``spatial``."""
    grids = [np.arange(o)[:, None] * s + np.arange(k)[None, :]  # [out_a, k_a]: s p_a + d_a
             for o, k, s in zip(out_spatial, kernel_size, strides, strict=True)]
    flat = np.zeros((1, 1), np.int64)
    for axis, grid in enumerate(grids):
        flat = flat[:, None, :, None] * spatial[axis] + grid[None, :, None, :]  # [P, out_a, K, k_a]
        flat = flat.reshape(flat.shape[0] * flat.shape[1], flat.shape[2] * flat.shape[3])
    return flat.reshape(-1).astype(np.int32)


def im2col_convolution(x, kernel, strides):
    """y = P K: x [batch, *spatial, c_in] (already padded) convolved with kernel [*kernel_size, c_in, filters]
    over full windows, y [batch, *spatial_out, filters], strides a tuple of ints.

    The forward pass gathers P with one ``jnp.take``. The JVP is dy = P_s(dx) K + P dK, with P_s(dx) the same
    patches built from strided slices concatenated along the channels: reverse mode then gets dL/dK = P^T dL/dy
    as one plain product, and dL/dx as dL/dy K^T scattered back by the slices' transposes (pads and adds), which
    measured faster on XLA:CPU than the gather's transpose (a scatter-add) and than XLA's transposed direct
    convolution inside the training scan. A zero tangent (data inputs, frozen kernels) drops its term.
    """
    batch, *spatial, c_in = x.shape
    kernel_size, filters = kernel.shape[:-2], kernel.shape[-1]
    windows = zip(spatial, kernel_size, strides, strict=True)
    out_spatial = tuple(window_output_length(n, k, s, "valid") for n, k, s in windows)
    indices = patch_indices(spatial, out_spatial, kernel_size, strides)
    rows = math.prod(kernel_size) * c_in

    def patches(x):
        return jnp.take(x.reshape(batch, -1, c_in), indices, axis=1).reshape(-1, rows)

    def sliced_patches(x):
        views = [x[(slice(None), *(slice(d, d + (o - 1) * s + 1, s) for d, o, s in zip(offset, out_spatial, strides)),
                    slice(None))] for offset in itertools.product(*(range(k) for k in kernel_size))]
        return jnp.concatenate(views, axis=-1).reshape(-1, rows)

    def product(p, k):
        return (p @ k.reshape(rows, filters)).reshape(batch, *out_spatial, filters)

    @jax.custom_jvp
    def convolve(x, kernel):
        return product(patches(x), kernel)

    def convolve_jvp(primals, tangents):
        (x, kernel), (dx, dkernel) = primals, tangents
        p = patches(x)
        y = product(p, kernel)
        terms = []  # custom_jvp calls this with at least one tangent not zero
        if not isinstance(dx, SymbolicZero):
            terms.append(product(sliced_patches(dx), kernel))
        if not isinstance(dkernel, SymbolicZero):
            terms.append(product(p, dkernel))
        return y, sum(terms[1:], terms[0])

    convolve.defjvp(convolve_jvp, symbolic_zeros=True)
    return convolve(x, kernel)


class _Conv(Layer):
    """N-dimensional convolution y = f(x * K + b) (cross-correlation, as Keras and PyTorch).

    For each output position p and filter o (``rank`` spatial axes):

        y[p, o] = f( sum_{d, c} x[s p + d, c] K[d, c, o] + b[o] ),

    d running over the kernel window, s the strides. 'valid' uses only full windows,
    out = floor((n - k) / s) + 1; 'same' pads with zeros to out = ceil(n / s), the total padding
    max((out - 1) s + k - n, 0) split with the extra element at the end (TensorFlow's rule).
    """

    per_sample = True

    rank = 0
    _dims = ()
    weight_specs = {"kernel": ("kernel", "glorot_uniform"), "bias": ("bias", "zeros")}

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 name=None):
        super().__init__(name)
        cls = type(self).__name__
        self.filters = check_positive_int(filters, "filters", cls)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", cls)
        self.strides = normalize_tuple(strides, self.rank, "strides", cls)
        self.padding = normalize_padding(padding, cls)
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)

    def _expected(self):
        return "(" + ", ".join(["length"] if self.rank == 1 else ["height", "width"]) + ", channels)"

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self.expect_ndim(input_shape, self.rank + 1, self._expected())
        if input_shape[-1] is None:
            raise self.shape_error(self._expected() + " with a known number of channels", input_shape)
        spatial = [window_output_length(n, k, s, self.padding)
                   for n, k, s in zip(input_shape[:-1], self.kernel_size, self.strides, strict=True)]
        if any(n == 0 for n in spatial):
            raise self.shape_error(f"{self._expected()} with spatial sizes >= kernel_size {self.kernel_size} "
                                   "for padding='valid'", input_shape)
        return (*spatial, self.filters)

    def init(self, rng, input_shape):
        self.output_shape(input_shape)
        _checks.elements(f"Layer '{self.name}' ({type(self).__name__})",
                         math.prod(self.kernel_size) * input_shape[-1] * self.filters)
        # (Glorot uniform by default, fan_in = prod(kernel_size) * channels_in, fan_out = prod(kernel_size) * filters)
        params = {"kernel": self.initial_value("kernel", rng, (*self.kernel_size, input_shape[-1], self.filters))}
        if self.use_bias:
            params["bias"] = self.initial_value("bias", rng, (self.filters,))
        return params

    def apply(self, params, x, *, key=None, training=False):
        """x [batch, *spatial, channels] -> y [batch, *spatial_out, filters]."""
        kernel = params["kernel"]
        out_spatial = self.output_shape(x.shape[1:])[:-1]
        if math.prod(out_spatial) * kernel[..., 0].size <= IM2COL_MAX_ELEMENTS:
            z = im2col_convolution(self._padded(x), kernel, self.strides)
        else:
            z = jax.lax.conv_general_dilated(x, kernel, window_strides=self.strides, padding=self.padding.upper(),
                                             dimension_numbers=self._dims)
        if self.use_bias:
            z = add_bias(z, params["bias"])
        return self.activation(z)


    def _padded(self, x):
        """x with the zeros of 'same' padding (TensorFlow's split, the extra element at the end)."""
        if self.padding != "same":
            return x
        pads = [same_padding(n, k, s) for n, k, s in zip(x.shape[1:-1], self.kernel_size, self.strides, strict=True)]
        return jnp.pad(x, [(0, 0), *pads, (0, 0)])


class Conv1D(_Conv):
    """1-D convolution over [batch, length, channels] (see ``_Conv`` for the equation).

    Arguments:
        filters: number of output channels.
        kernel_size: window length k (int or 1-tuple).
        strides: step s (int or 1-tuple).
        padding: "valid" or "same".
        activation: name, callable or None.
        use_bias: add a bias per filter.

    The weight arguments kernel_initializer ("glorot_uniform"), bias_initializer ("zeros"), kernel_regularizer,
    bias_regularizer and activity_regularizer are as ``Dense``'s.

    Parameters ``kernel`` [k, channels, filters] and ``bias`` [filters]; count k * channels * filters + filters.
    """

    rank = 1
    _dims = ("NWC", "WIO", "NWC")


class Conv2D(_Conv):
    """2-D convolution over [batch, height, width, channels] (see ``_Conv`` for the equation).

    Arguments as ``Conv1D``, with ``kernel_size`` and ``strides`` ints or (height, width) tuples.
    Parameters ``kernel`` [kh, kw, channels, filters] (Glorot uniform by default) and ``bias`` [filters];
    count kh * kw * channels * filters + filters.
    """

    rank = 2
    _dims = ("NHWC", "HWIO", "NHWC")



class _ConvTranspose(_Conv):
    """N-dimensional transposed convolution (the gradient of ``_Conv`` with respect to its input; "deconvolution"
    in decoders), channels-last as Keras:

        y[s t + d, o] += x[t, c] K[d, o, c]   (then + b[o] and f),

    every input position scattering the kernel window, s the strides. 'valid': out = n s + max(k - s, 0), i.e.
    (n - 1) s + k, zero-extended to n s when k < s (Keras's rule); 'same': out = n s, the full result cropped by
    max(k - s, 0) (the odd element at the end, TensorFlow's rule). Computed as the convolution of x dilated by s
    (s - 1 zeros between samples) with the flipped kernel, padded by (k - 1 - p_lo, k - 1 - p_hi + max(s - k, 0)),
    p_lo + p_hi the crop.
    """

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self.expect_ndim(input_shape, self.rank + 1, self._expected())
        if input_shape[-1] is None or any(n is None for n in input_shape[:-1]):
            raise self.shape_error(self._expected() + " with known sizes", input_shape)
        spatial = [n * s if self.padding == "same" else n * s + max(k - s, 0)
                   for n, k, s in zip(input_shape[:-1], self.kernel_size, self.strides, strict=True)]
        return (*spatial, self.filters)

    def init(self, rng, input_shape):
        self.output_shape(input_shape)
        _checks.elements(f"Layer '{self.name}' ({type(self).__name__})",
                         math.prod(self.kernel_size) * input_shape[-1] * self.filters)
        # Keras's layout: [k_1, ..., k_r, filters, channels_in]
        params = {"kernel": self.initial_value("kernel", rng, (*self.kernel_size, self.filters, input_shape[-1]))}
        if self.use_bias:
            params["bias"] = self.initial_value("bias", rng, (self.filters,))
        return params

    def _padding(self, n, k, s):
        crop = max(k - s, 0) if self.padding == "same" else 0
        low, high = crop // 2, crop - crop // 2
        return k - 1 - low, k - 1 - high + max(s - k, 0)

    def apply(self, params, x, *, key=None, training=False):
        """x [batch, *spatial, channels] -> y [batch, *spatial_out, filters]."""
        spatial_axes = tuple(range(self.rank))
        kernel = jnp.flip(params["kernel"], axis=spatial_axes)
        kernel = jnp.swapaxes(kernel, -1, -2)  # [k..., c_in, filters] for the forward convolution
        padding = [self._padding(n, k, s) for n, k, s in zip(x.shape[1:-1], self.kernel_size, self.strides,
                                                               strict=True)]
        z = jax.lax.conv_general_dilated(x, kernel, window_strides=(1,) * self.rank, padding=padding,
                                         lhs_dilation=self.strides, dimension_numbers=self._dims)
        if self.use_bias:
            z = add_bias(z, params["bias"])
        return self.activation(z)


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution over [batch, length, channels] (see ``_ConvTranspose``): a decoder's upsampling.

    Arguments as ``Conv1D``. Parameters ``kernel`` [k, filters, channels] (Keras's layout) and ``bias``
    [filters]; count k * channels * filters + filters.
    """

    rank = 1
    _dims = ("NWC", "WIO", "NWC")


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution over [batch, height, width, channels] (see ``_ConvTranspose``).

    Arguments as ``Conv2D``. Parameters ``kernel`` [kh, kw, filters, channels] and ``bias`` [filters].
    """

    rank = 2
    _dims = ("NHWC", "HWIO", "NHWC")
