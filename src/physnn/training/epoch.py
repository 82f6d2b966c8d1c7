"""The compiled training epoch shared by ``FFNN`` and the Keras-style models.

One epoch is one call of a jit-compiled function: the data are permuted (sampling without replacement;
``shuffle_order``, a function of the fit's seed and the epoch number), cut into ``n_full`` minibatches of
``batch_size`` that ``lax.scan`` runs through, and a ragged ``tail`` batch (if any) that gets one more step, so
no sample is dropped. Where the model allows it (``masked_loss_fn``: a loss and metrics that are means over
independent samples), the tail is padded to ``batch_size`` with zero-weight copies of other samples and runs as
the last step of the one scan, its loss sum_i w_i l_i / sum_i w_i unchanged by the padding: one step shape, one
compiled step. Each step is

    (L, aux), g = value_and_grad(loss_fn)(params, state, x_b, y_b, key_b)
    change, opt_state = optimizer.update(g, opt_state, params);   params <- params - change

The epoch's loss and metrics are the batch values averaged with the batch sizes as weights (the mean
over samples, as Keras reports it).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physnn.hyperparameters import bound
from physnn.schedulers import Optimizer
from physnn.training.hessian_free import gauss_newton_product
from physnn.training.lbfgs import FullBatchOptimizer


class TrainState(NamedTuple):
    """What an epoch carries: parameters, optimiser state, layer state (stateful RNNs; {} otherwise) and the
    values of traced hyperparameters (``physnn.hyperparameters``; None when there are none)."""

    params: dict
    opt_state: Any
    state: dict
    hyper: Any = None


class Layout(NamedTuple):
    """How an epoch of n samples is cut: n_full batches of batch_size, then one batch of tail samples."""

    batch_size: int
    n_full: int
    tail: int


def keras_layout(n: int, batch_size: int) -> Layout:
    """Keras's cut: ceil(n / batch_size) batches, the last one smaller when batch_size does not divide n."""
    if isinstance(batch_size, bool) or not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    batch_size = min(int(batch_size), n)
    return Layout(batch_size, n // batch_size, n % batch_size)


def course_layout(n: int, batches: int) -> Layout:
    """The course's cut: ``batches`` batches of n // batches samples, the last one taking the remainder."""
    if isinstance(batches, bool) or not (isinstance(batches, (int, np.integer)) and 1 <= batches <= n):
        raise ValueError(f"batches must be an integer between 1 and the number of samples ({n}), got {batches!r}")
    size = n // batches
    if n % batches == 0:
        return Layout(size, batches, 0)
    return Layout(size, batches - 1, n - (batches - 1) * size)


def split_params(params: dict, frozen: tuple) -> tuple[dict, dict]:
    """(trainable, fixed) parts of a model's ``params`` {layer name: {key: array}}.

    ``frozen`` is ``((layer_name, (key, ...)), ...)``: the entries that ``fit`` does not train (frozen
    layers, non-trainable weights). Every layer keeps an entry in both parts (possibly empty), so the
    trainable part has the model's structure for the optimiser.
    """
    fixed_keys = dict(frozen)
    train, fixed = {}, {}
    for name, p in params.items():
        keys = fixed_keys.get(name, ())
        train[name] = {k: v for k, v in p.items() if k not in keys}
        fixed[name] = {k: v for k, v in p.items() if k in keys}
    return train, fixed


def merge_params(train: dict, fixed: dict) -> dict:
    """The inverse of ``split_params``."""
    return {name: {**p, **fixed.get(name, {})} for name, p in train.items()}


def state_rows(state: dict, k: int) -> dict:
    """The first ``k`` rows (samples) of every array of a layer-state pytree (stateful RNNs: [batch, units])."""
    return jax.tree_util.tree_map(lambda s: s[:k], state)


def put_state_rows(state: dict, rows: dict) -> dict:
    """``state`` with its first rows replaced by ``rows`` (what ``state_rows`` took, advanced by a batch)."""
    return jax.tree_util.tree_map(lambda s, r: s.at[: r.shape[0]].set(r), state, rows)


def batched_pass(fn, state: dict, X, batch_size: int):
    """Run ``fn(state, batch) -> (state, out)`` over consecutive batches of ``X`` (a pytree of arrays with a
    leading sample axis), threading ``state`` as a stateful layer does, in order and without shuffling; the
    ragged last batch runs on the first rows of the state (``state_rows``).

    Returns ``(state, full, tail)``: ``full`` the outputs of the full batches stacked on a leading axis
    (None without a full batch), ``tail`` the ragged batch's output (None without one).
    """
    n = jax.tree_util.tree_leaves(X)[0].shape[0]
    n_full, tail = divmod(n, batch_size)
    full = rest = None
    if n_full:
        batches = jax.tree_util.tree_map(
            lambda a: a[: n_full * batch_size].reshape(n_full, batch_size, *a.shape[1:]), X)
        state, full = jax.lax.scan(fn, state, batches)
    if tail:
        part, rest = fn(state_rows(state, tail), jax.tree_util.tree_map(lambda a: a[n_full * batch_size:], X))
        state = put_state_rows(state, part)
    return state, full, rest


def _mix32(x):
    """The "lowbias32" integer mixer (C. Wellons, 2018): a bijection of uint32 whose every output bit depends
    on every input bit (bias ~1.7e-4 in the avalanche test)."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def shuffle_order(seed, epoch_index, n: int):
    """A random permutation of range(n), a function of (``seed``, ``epoch_index``) only: the indices sorted by
    the counter-based hash h_i = mix(mix(s + i * 0x9E3779B9)), s = mix(mix(seed) ^ epoch_index) (``_mix32``;
    ties, ~n^2 / 2^33 pairs, kept in index order).

    This is how ``jax.random.permutation`` shuffles too (a sort by 32-bit random keys), with the keys hashed
    instead of drawn by threefry: uint32 arithmetic, exact on every device and under ``vmap``, and ~0.02 s to
    compile where threefry's unrolled rounds cost XLA:CPU ~0.25 s in every fresh process (the digits FFNN's
    first fit, ``benchmarks/bench_compile.py``).

    Arguments:
        seed: uint32 scalar (traced or not); epoch_index: integer scalar; n: the number of samples.
    Returns:
        [n] int32, each of 0 .. n-1 once.
    """
    s = _mix32(_mix32(jnp.asarray(seed).astype(jnp.uint32)) ^ jnp.asarray(epoch_index).astype(jnp.uint32))
    keys = _mix32(_mix32(s + jnp.arange(n, dtype=jnp.uint32) * jnp.uint32(0x9E3779B9)))
    return jax.lax.sort_key_val(keys, jnp.arange(n, dtype=jnp.int32))[1]


def make_epoch(loss_fn, optimizer: Optimizer, n: int, layout: Layout, shuffle: bool = True, frozen: tuple = (),
               parallel=None, curvature=None, hyper_binding=None, masked_loss_fn=None):
    """Build ``epoch(train_state, X, Y, seed, epoch_index) -> (train_state, logs)`` (not yet jitted; callers
    compose and jit). ``seed`` (uint32) and ``epoch_index`` fix the epoch's shuffle (``shuffle_order``) and the
    steps' PRNG keys, split from ``fold_in(PRNGKey(seed), epoch_index)``.

    Arguments:
        loss_fn: ``(params, state, x_b, y_b, key_b) -> (loss, (state, metrics))`` with ``metrics`` a dict of
            batch-mean scalars (may be empty), or ``(loss, (state, metrics, updates))`` with ``updates``
            {layer: {key: value}} the new values of non-trainable weights, set after the step's update.
        optimizer: functional optimiser (``physnn.schedulers``), or a ``FullBatchOptimizer`` (L-BFGS), which
            also gets the batch's loss function; its state covers the trainable part only.
        n: number of samples; ``layout``: how they are cut into batches.
        shuffle: permute the samples every epoch (without replacement); ignored when one batch holds them all.
        frozen: entries of a model's params that are not trained (see ``split_params``): no gradient is
            computed for them and they come out bit-identical.
        parallel: None, or a ``training.devices.DataParallel``: every minibatch is split across its devices
            along the sample axis (the parameters are replicated; XLA all-reduces the gradient).
        curvature: None, or ``(params, state, x_b, y_b, key_b) -> CurvatureSplit | None``
            (``physnn.training.hessian_free``): the batch objective as a loss of the model outputs plus a
            remainder. A ``FullBatchOptimizer`` with ``curvature=True`` (Hessian-free) then also gets
            ``gauss_newton=`` the product v -> G v of that split at the step's parameters (trainable part);
            without one (None, or the function returns None) it is not passed.
        hyper_binding: None, or ``{name: (owner, attribute)}`` (``physnn.hyperparameters``): while each step is
            traced, those attributes read the values ``carry.hyper[name]`` (inputs of the program).
        masked_loss_fn: None, or ``(params, state, x_b, y_b, key_b, w_b) -> as loss_fn`` with the loss and
            metrics the means over the samples of weight 1 (``w_b`` [batch_size] of 0 and 1). With it a ragged
            tail is padded and folded into the scan (module docstring); not with ``parallel``, a
            ``FullBatchOptimizer`` or layer state.
    Returns:
        The epoch function; ``logs`` holds "loss" and each metric, averaged over samples.
    """
    if frozen:
        def objective(train, fixed, *batch):
            return loss_fn(merge_params(train, fixed), *batch)
    else:
        def objective(train, fixed, *batch):
            return loss_fn(train, *batch)
    grad_fn = jax.value_and_grad(objective, has_aux=True)
    masked_grad_fn = None
    if masked_loss_fn is not None:
        def masked_objective(train, fixed, *batch):
            return masked_loss_fn(merge_params(train, fixed) if frozen else train, *batch)
        masked_grad_fn = jax.value_and_grad(masked_objective, has_aux=True)

    def step(carry: TrainState, batch):
        with bound(hyper_binding or {}, carry.hyper or {}):
            return plain_step(carry, batch)

    def plain_step(carry: TrainState, batch):
        xb, yb, key, *weights = batch  # (weights: the folded epoch's sample weights, masked_grad_fn)
        if parallel is not None:
            xb, yb = jax.tree_util.tree_map(parallel.split, (xb, yb))
        train, fixed = split_params(carry.params, frozen) if frozen else (carry.params, {})
        (loss, aux), grads = (masked_grad_fn if weights else grad_fn)(train, fixed, carry.state, xb, yb, key, *weights)
        state, metrics = aux[:2]
        updates = aux[2] if len(aux) > 2 else {}  # non-trainable weights a layer assigned (moving statistics)
        if isinstance(optimizer, FullBatchOptimizer):  # a line search evaluates the same batch objective
            def value_and_grad(t):
                (value, _), g = grad_fn(t, fixed, carry.state, xb, yb, key)
                return value, g

            extra = {}
            if optimizer.curvature and curvature is not None:
                split = curvature(merge_params(train, fixed) if frozen else train, carry.state, xb, yb, key)
                if split is not None:
                    if frozen:  # (the split's functions of the trainable part, the rest held fixed)
                        split = split._replace(
                            outputs=lambda t, f=split.outputs: f(merge_params(t, fixed)),
                            remainder=None if split.remainder is None else
                            lambda t, f=split.remainder: f(merge_params(t, fixed)))
                    extra["gauss_newton"] = gauss_newton_product(split, train)
            change, opt_state = optimizer.update(grads, carry.opt_state, train, loss, value_and_grad, **extra)
        else:
            change, opt_state = optimizer.update(grads, carry.opt_state, train)
        train = jax.tree_util.tree_map(lambda p, c: p - c.astype(p.dtype), train, change)
        params = merge_params(train, fixed) if frozen else train
        if updates:
            params = {name: {**p, **updates.get(name, {})} for name, p in params.items()}
        return TrainState(params, opt_state, state, carry.hyper), {"loss": loss, **metrics}

    bs, n_full, tail = layout
    # one batch holding every sample: a permutation would change only the order of the sums (skipped: it cost
    # 40 % of a small full-batch epoch)
    shuffle = shuffle and not (n_full == 1 and tail == 0)
    fold = (masked_loss_fn is not None and tail > 0 and n_full > 0 and parallel is None
            and not isinstance(optimizer, FullBatchOptimizer))

    def epoch(carry: TrainState, X, Y, seed, epoch_index):
        if shuffle:
            order = shuffle_order(seed, epoch_index, n)
            X, Y = jax.tree_util.tree_map(lambda a: a[order], (X, Y))
        # the steps' keys (dropout, noise); XLA drops them when no layer draws random numbers
        keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), epoch_index), n_full + 1)
        totals = {}
        if fold:  # the tail padded with the first samples, weight 0, as the scan's last step
            def padded(a):
                return jnp.concatenate([a, a[: bs - tail]]).reshape(n_full + 1, bs, *a.shape[1:])

            weights = (jnp.arange((n_full + 1) * bs) < n).astype(jnp.result_type(float)).reshape(n_full + 1, bs)
            carry, logs = jax.lax.scan(step, carry, (*jax.tree_util.tree_map(padded, (X, Y)), keys, weights))
            counts = jnp.sum(weights, axis=1)
            return carry, {k: jnp.sum(v * counts) / n for k, v in logs.items()}
        if n_full:
            full = jax.tree_util.tree_map(lambda a: a[: n_full * bs].reshape(n_full, bs, *a.shape[1:]), (X, Y))
            carry, logs = jax.lax.scan(step, carry, (*full, keys[:n_full]))
            totals = {k: jnp.sum(v) * bs for k, v in logs.items()}
        if tail:
            rest = jax.tree_util.tree_map(lambda a: a[n_full * bs:], (X, Y))
            full_state = carry.state  # a stateful layer's tail batch advances the first `tail` rows of its state
            carry, logs = step(carry._replace(state=state_rows(full_state, tail)), (*rest, keys[-1]))
            carry = carry._replace(state=put_state_rows(full_state, carry.state))
            totals = {k: totals.get(k, 0.0) + v * tail for k, v in logs.items()}
        return carry, {k: v / n for k, v in totals.items()}

    return epoch
