"""A Keras mask around an ONNX ``GRU`` node, exactly, for any mask (right-padded, left-padded or with gaps).

Keras skips a masked step: the state is carried unchanged, and with ``return_sequences`` the output
repeats the previous output in processing order (zeros before the first valid step), or is zero with
``zero_output_for_mask=True``. The ONNX GRU can only stop early, at ``sequence_lens``. So the graph
moves each row's valid steps to the front, in order (a stable compaction, ``ScatterElements``), runs the
GRU with ``sequence_lens`` = the number of valid steps, and reads each Keras output back from the compact
output (``GatherElements``). The GRU then computes exactly the steps Keras computes, in the same order:

    m (B, T) bool, c[t] = m[0] + ... + m[t], n = c[T-1]
    compact position of a valid step t: c[t] - 1; masked steps follow at n + (t + 1 - c[t]) - 1
    forward, at input step t:  Y_c[c[t] - 1]      if c[t] > 0   (else zeros)
    reverse, at input step t:  Y_c[c[t] - m[t]]   if c[t] - m[t] < n
    zero_output_for_mask:      zeros where m[t] is False

``Y_c[j]`` is the compact output, which a reverse pass indexes by compact time too: at ``j`` it holds
the state after the valid steps ``j .. n-1``. For a right-padded mask the compaction is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import OnnxGraph


@dataclass(frozen=True)
class MaskIndex:
    """The int64 tensors one mask ``m`` (B, T) gives: ``mi`` = m as 0/1, ``c`` its running sum along time,
    ``n`` (B, 1) the valid steps per row, ``lens`` (B,) int32 for ``sequence_lens``, ``mask`` itself."""

    mask: str
    mi: str
    c: str
    n: str
    lens: str

    @classmethod
    def build(cls, g: OnnxGraph, mask: str) -> "MaskIndex":
        if g.types.get(mask) != np.dtype(bool):
            mask = g.op1("Cast", mask, to=g.onnx.TensorProto.BOOL)
        mi = g.op1("Cast", mask, to=g.onnx.TensorProto.INT64)
        c = g.op1("CumSum", mi, g.const("axis", np.array(1, np.int64)))
        n = g.op1("ReduceSum", mi, g.ints([1]), keepdims=1)
        lens = g.op1("Cast", g.op1("Squeeze", n, g.ints([1])), to=g.onnx.TensorProto.INT32)
        return cls(mask, mi, c, n, lens)

    def minus(self, g: OnnxGraph, a: str, b: str | int) -> str:
        return g.op1("Sub", a, g.const("one", np.array(b, np.int64)) if isinstance(b, int) else b)


def compact(g: OnnxGraph, x: str, k: MaskIndex) -> str:
    """``x`` (B, T, F) with each row's valid steps first, in order, and its masked steps after them."""
    masked_before = g.op1("CumSum", k.minus(g, g.ints([1]), k.mi), g.const("axis", np.array(1, np.int64)))
    dest = g.op1("Where", k.mask, k.minus(g, k.c, 1), k.minus(g, g.op1("Add", k.n, masked_before), 1))
    dest = g.op1("Expand", g.op1("Unsqueeze", dest, g.ints([2])), g.op1("Shape", x))
    y = g.op1("ScatterElements", x, dest, x, axis=1)
    g.types[y] = g.types[x]
    return y


def keras_sequence(g: OnnxGraph, Y: str, k: MaskIndex, backwards: list[bool], zero_output_for_mask: bool,
                   dtype: np.dtype) -> str:
    """The compact GRU output ``Y`` (T, D, B, u) as Keras gives it, by input step, in the same layout."""
    both = g.op1("Transpose", Y, perm=[2, 0, 1, 3])  # (B, T, D, u)
    zero = g.const("zero", np.zeros((), dtype))
    parts = []
    for d, reverse in enumerate(backwards):
        part = g.op1("Gather", both, g.ints([d]), axis=2)  # (B, T, 1, u)
        if reverse:
            index = k.minus(g, k.c, k.mi)
            valid = g.op1("Less", index, k.n)
        else:
            index = g.op1("Max", k.minus(g, k.c, 1), g.const("zero", np.array(0, np.int64)))
            valid = g.op1("Greater", k.c, g.const("zero", np.array(0, np.int64)))
        valid = k.mask if zero_output_for_mask else valid
        index = g.op1("Expand", g.op1("Unsqueeze", index, g.ints([2, 3])), g.op1("Shape", part))
        picked = g.op1("GatherElements", part, index, axis=1)
        parts.append(g.op1("Where", g.op1("Unsqueeze", valid, g.ints([2, 3])), picked, zero))
    merged = parts[0] if len(parts) == 1 else g.op1("Concat", *parts, axis=2)
    return g.op1("Transpose", merged, perm=[1, 2, 0, 3])


def keras_last(g: OnnxGraph, Y_h: str, k: MaskIndex, backwards: list[bool], zero_output_for_mask: bool,
               h0: str, dtype: np.dtype) -> tuple[str, str]:
    """``(last output, state)``, each (D, B, u), from the GRU's ``Y_h``.

    The state is ``Y_h``, or the initial state ``h0`` (zeros if ``""``) for a row with no valid step.
    The last output is zero for such a row, as the carried output starts at zeros; with
    ``zero_output_for_mask`` (one direction only: Bidirectional forces it off without sequences) it is
    zero whenever the last processed step is masked.
    """
    zero = g.const("zero", np.zeros((), dtype))
    some = g.op1("Greater", k.n, g.const("zero", np.array(0, np.int64)))  # (B, 1) broadcasts over (D, B, u)
    state = g.op1("Where", some, Y_h, h0 or zero)
    if zero_output_for_mask and len(backwards) == 1:
        some = g.op1("Gather", k.mask, g.ints([0 if backwards[0] else -1]), axis=1)  # (B, 1)
    return g.op1("Where", some, Y_h, zero), state


__all__ = ["MaskIndex", "compact", "keras_last", "keras_sequence"]
