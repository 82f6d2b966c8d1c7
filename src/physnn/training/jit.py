"""Compiling functions of pytrees as functions of flat leaves (layer names stay out of the programs)."""

from __future__ import annotations

import jax

from physnn import _cache


def flat_jit(fn):
    """``jax.jit`` over flat lists of arrays: ``fn(*args)`` with any pytrees in and out.

    The compiled program sees only positional leaves, so dictionary keys such as auto-generated layer names
    ("dense_3") do not enter it. JAX's persistent compilation cache (``physnn._cache``) keys on the program
    text, which would otherwise include those names; flattening lets two identical architectures share one
    compiled program, in one process and across processes.
    """
    programs = {}

    def wrapped(*args):
        leaves, treedef = jax.tree_util.tree_flatten(args)
        if treedef not in programs:
            out_tree = {}

            def flat_fn(*flat):
                out = fn(*jax.tree_util.tree_unflatten(treedef, flat))
                out_leaves, out_tree["treedef"] = jax.tree_util.tree_flatten(out)
                return out_leaves

            programs[treedef] = (_cache.jit(flat_fn), out_tree)
        jitted, out_tree = programs[treedef]
        out_leaves = jitted(*leaves)
        return jax.tree_util.tree_unflatten(out_tree["treedef"], out_leaves)

    return wrapped
