"""Masks in an exported model: the Keras 3 mask op nodes (:data:`OPS`) and the mask rules of layers.

The rules are Keras's (as :mod:`refgru.model.model` runs them): a layer that supports masking passes its
input mask on; a GRU or Bidirectional puts its mask on each sequence output. A mask is a bool ``(B, T)``
tensor of the ONNX graph.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import error, quote
from .graph import OnnxGraph


def not_equal(g: OnnxGraph, x: str, value: object) -> str:
    """``x != value`` (bool), ``value`` in ``x``'s dtype."""
    y = g.op1("Not", g.op1("Equal", x, g.const_like(value, x)))
    g.types[y] = np.dtype(bool)
    return y


def reduce_bool(g: OnnxGraph, x: str, reduce: str, axis, keepdims: bool) -> str:
    """``any`` (ReduceMax) or ``all`` (ReduceMin) of a bool tensor along ``axis`` (None: every axis)."""
    axes = {} if axis is None else {"axes": [int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]}
    as_float = g.op1("Cast", x, to=g.onnx.TensorProto.FLOAT)
    y = g.op1("Cast", g.op1(reduce, as_float, keepdims=int(bool(keepdims)), **axes), to=g.onnx.TensorProto.BOOL)
    g.types[y] = np.dtype(bool)
    return y


def _logical(op_type: str):
    def export(g, *args):
        y = g.op1(op_type, *args)
        g.types[y] = np.dtype(bool)
        return y
    return export


#: Keras 3 op nodes (masks in functional configs) -> ``(graph, config, *argument names) -> name``.
OPS: dict[str, Callable] = {
    "NotEqual": lambda g, c, x, v: not_equal(g, x, v),
    "Equal": lambda g, c, x, v: _logical("Not")(g, not_equal(g, x, v)),
    "Any": lambda g, c, x: reduce_bool(g, x, "ReduceMax", c.get("axis"), c.get("keepdims", False)),
    "All": lambda g, c, x: reduce_bool(g, x, "ReduceMin", c.get("axis"), c.get("keepdims", False)),
    "LogicalNot": lambda g, c, x: _logical("Not")(g, x),
    "LogicalAnd": lambda g, c, x, y: _logical("And")(g, x, y),
    "LogicalOr": lambda g, c, x, y: _logical("Or")(g, x, y),
}


def run_op(g: OnnxGraph, entry, args: list) -> str:
    """A Keras 3 op node: tensor arguments by name, a scalar second argument of NotEqual / Equal."""
    tensors = [a for a in args if isinstance(a, str)]
    scalar = entry.class_name in ("NotEqual", "Equal")
    if len(args) != (2 if scalar or entry.class_name in ("LogicalAnd", "LogicalOr") else 1) or \
            (scalar and (not isinstance(args[0], str) or isinstance(args[1], (str, bool)) or
                         not isinstance(args[1], (int, float)))) or (not scalar and len(tensors) != len(args)):
        raise error(f"op {quote(entry.name)} ({entry.class_name})", "the mask arguments Keras 3 writes (a tensor, "
                    "and a number for NotEqual/Equal)", got=f"{len(args)} arguments")
    return OPS[entry.class_name](g, entry.config, *args)


def output_masks(layer, outputs: list[str], mask: str | None) -> list:
    """Keras's output masks of a layer that neither makes nor runs a mask: passed on if it supports masking."""
    passed = mask if getattr(layer, "supports_masking", False) else None
    return [passed] + [None] * (len(outputs) - 1)


def rnn_masks(layer, outputs: list[str], mask: str | None) -> list:
    """A GRU's (Bidirectional's) output masks: its mask on each sequence output, none on the states."""
    sequences = (2 if getattr(layer, "merge_mode", "concat") is None else 1) if layer.return_sequences else 0
    return [mask] * sequences + [None] * (len(outputs) - sequences)


__all__ = ["OPS", "not_equal", "output_masks", "reduce_bool", "rnn_masks", "run_op"]
