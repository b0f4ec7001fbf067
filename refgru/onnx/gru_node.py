"""A Keras GRU (or ``Bidirectional(GRU)``) as an ONNX ``GRU`` node plus the nodes around it.

The ONNX ``GRU`` node is time-major (``layout=0``: onnxruntime refuses ``layout=1``), so a ``Transpose``
feeds it and another brings the output back to Keras's batch-major ``(B, T, u)``. ``go_backwards=True``
is ``direction="reverse"``: ONNX indexes a reverse pass's ``Y`` by original time, Keras by processing
order (``out[:, t]`` belongs to input step ``T - 1 - t``), so a ``Slice`` with step -1 reverses ``Y``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..activations import check_keras_version
from ..convert import KerasArrays, to_onnx
from ..core.checks import check_choice
from ..errors import error
from .activations import ONNX_ACTIVATIONS, ONNX_GRU_FUNCTIONS
from .graph import OnnxGraph
from .mask import MaskIndex, compact, keras_last, keras_sequence

#: Bidirectional ``merge_mode`` -> the ONNX reduction over the direction axis (``concat`` and ``None`` aside).
MERGE_REDUCTIONS = {"sum": "ReduceSum", "mul": "ReduceProd", "ave": "ReduceMean"}


def onnx_activations(activation: object = "tanh", recurrent_activation: object = "sigmoid", keras_version: int = 3,
                     num_directions: int = 1) -> dict[str, list]:
    """The ``activations``, ``activation_alpha`` and ``activation_beta`` attributes of an ONNX ``GRU`` node.

    ONNX lists ``[f, g]`` per direction: ``f`` for the gates ``z`` and ``r`` (Keras's
    ``recurrent_activation``), ``g`` for the candidate ``hh`` (``activation``). ``activation_alpha`` and
    ``activation_beta`` hold values only for the functions that take one, in order, which is how
    onnxruntime reads them. Empty lists are left out of the returned dict.

    Raises :class:`RefgruError` for an activation the operator cannot compute exactly, e.g. ``"selu"``.
    """
    keras_version = check_keras_version(keras_version)
    table = ONNX_ACTIVATIONS[keras_version]
    functions = []
    for argument, spec in (("recurrent_activation", recurrent_activation), ("activation", activation)):
        spec = "linear" if spec is None else spec
        if not isinstance(spec, str) or spec not in table:
            raise error(argument, f"a Keras {keras_version} activation the ONNX GRU operator can compute "
                        f"({', '.join(sorted(table))}); the operator offers only {', '.join(ONNX_GRU_FUNCTIONS)}",
                        spec)
        functions.append(table[spec])
    functions *= num_directions
    attributes = {"activations": [name for name, _, _ in functions],
                  "activation_alpha": [float(a) for _, a, _ in functions if a is not None],
                  "activation_beta": [float(b) for _, _, b in functions if b is not None]}
    return {key: value for key, value in attributes.items() if value}


def cast_layer(w, dtype: np.dtype) -> KerasArrays:
    """The arrays of layer ``w`` (a GRUWeights or KerasArrays) in ``dtype``."""
    if w.dtype == dtype:
        return KerasArrays.of(w)
    return KerasArrays(w.kernel.astype(dtype), w.recurrent_kernel.astype(dtype),
                       None if w.bias is None else w.bias.astype(dtype), w.reset_after)


def _merge(g: OnnxGraph, both: str, axis: int, merge_mode: object, flat: list[int]) -> list[str]:
    """Keras's Bidirectional merge of ``both`` (the direction on ``axis``)."""
    check_choice("merge_mode", merge_mode, ["concat", *MERGE_REDUCTIONS, None],
                 "'concat', 'sum', 'mul', 'ave' or None")
    if merge_mode == "concat":
        return [g.op1("Reshape", both, g.ints(flat))]
    if merge_mode is None:
        return [g.op1("Squeeze", part, g.ints([axis])) for part in g.op("Split", [both], 2, axis=axis)]
    reduce = MERGE_REDUCTIONS[merge_mode]
    if reduce == "ReduceSum":  # opset 13+: axes as an input
        return [g.op1(reduce, both, g.ints([axis]), keepdims=0)]
    return [g.op1(reduce, both, axes=[axis], keepdims=0)]


def gru_layer(g: OnnxGraph, x: str, weights: list, *, direction: str, return_sequences: bool,
              return_state: bool, merge_mode: str | None = "concat", initial_states: Sequence[str] = (),
              activation: object = "tanh", recurrent_activation: object = "sigmoid",
              keras_version: int = 3, mask: str | None = None, zero_output_for_mask: bool = False) -> list[str]:
    """Add a Keras GRU (or Bidirectional(GRU)) to ``g``, reading ``x`` ``(B, T, F)``; returns Keras's outputs.

    ``weights`` is ``[layer]`` (``direction`` "forward" or "reverse" = ``go_backwards``) or
    ``[forward, backward]`` (``direction="bidirectional"``), all of one dtype, which ``x`` is cast to.
    ``initial_states``: no names, or one ``(B, u)`` name per direction. The returned tensor names are, as in Keras:
    ``[output]`` or ``[output, state]``; bidirectional ``[merged]`` (or ``[fw, bw]`` for ``merge_mode=None``)
    followed by ``[fw_state, bw_state]`` with ``return_state``. ``mask``: a Keras mask ``(B, T)``, any
    pattern, run exactly as Keras runs it (see :mod:`refgru.onnx.mask`), with the layer's ``zero_output_for_mask``.
    """
    arrays = to_onnx(weights)
    u, d = weights[0].units, len(weights)
    dtype, h0 = weights[0].dtype, ""
    if initial_states:  # one (B, u) per direction -> initial_h (D, B, u)
        h0 = g.op1("Concat", *[g.op1("Unsqueeze", g.cast(h, dtype), g.ints([0])) for h in initial_states], axis=0)
    x, index = g.cast(x, dtype), None if mask is None else MaskIndex.build(g, mask)
    x = x if index is None else compact(g, x, index)
    inputs = [g.op1("Transpose", x, perm=[1, 0, 2]), g.const("W", arrays["W"]), g.const("R", arrays["R"]),
              "" if arrays["B"] is None else g.const("B", arrays["B"]), "" if index is None else index.lens, h0]
    while inputs[-1] == "":
        inputs.pop()
    attributes = onnx_activations(activation, recurrent_activation, keras_version, d)
    Y, Y_h = g.op("GRU", inputs, 2, hidden_size=u, direction=direction,
                  linear_before_reset=arrays["linear_before_reset"], **attributes)
    last = Y_h  # the output without return_sequences, (D, B, u); Y_h is the state
    if index is not None:
        backwards = [direction == "reverse"] if d == 1 else [False, True]
        Y = keras_sequence(g, Y, index, backwards, zero_output_for_mask, dtype)
        last, Y_h = keras_last(g, Y_h, index, backwards, zero_output_for_mask, h0, dtype)
    if d == 1:
        state = g.op1("Squeeze", Y_h, g.ints([0]))  # (1, B, u) -> (B, u)
        output = state if last is Y_h else g.op1("Squeeze", last, g.ints([0]))
        if return_sequences:  # Y (T, 1, B, u) -> (B, T, u)
            output = g.op1("Transpose", g.op1("Squeeze", Y, g.ints([1])), perm=[1, 0, 2])
            if direction == "reverse":  # ONNX: by original time; Keras: by processing order
                start, stop = g.ints([-1]), g.ints([np.iinfo(np.int64).min])
                output = g.op1("Slice", output, start, stop, g.ints([1]), g.ints([-1]))
        return [output, state] if return_state else [output]
    # bidirectional: Y (T, 2, B, u) -> (B, T, 2, u); Y_h (2, B, u) -> (B, 2, u). Keras reverses the
    # backward sequence back to original time before merging, which is how ONNX indexes it already.
    both = g.op1("Transpose", Y, perm=[2, 0, 1, 3]) if return_sequences else g.op1("Transpose", last, perm=[1, 0, 2])
    outputs = _merge(g, both, 2 if return_sequences else 1, merge_mode, [0, 0, -1] if return_sequences else [0, -1])
    if return_state:
        outputs += [g.op1("Squeeze", part, g.ints([0])) for part in g.op("Split", [Y_h], 2, axis=0)]
    return outputs


__all__ = ["MERGE_REDUCTIONS", "cast_layer", "gru_layer", "onnx_activations"]
