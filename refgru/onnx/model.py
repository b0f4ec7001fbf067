"""ONNX export of a loaded :class:`refgru.model.Model`: its graph, layer by layer, as ONNX nodes.

Used by :func:`refgru.onnx.export.export_model`. Each Keras class with an exact ONNX equivalent has one
exporter in :data:`EXPORTERS`; a model with any other class is refused with a :class:`RefgruError` that
names it. ``stateful`` and ``time_major`` GRUs are refused too.

Masks travel with the tensors as in :mod:`refgru.model.model`: ``Embedding(mask_zero=True)`` and
``Masking`` make one (as do Keras 3's mask op nodes in :data:`OPS`, given to a layer as ``mask=``), a
layer that supports masking passes its input mask on, and a GRU or Bidirectional that returns sequences
passes it on too. A GRU runs its mask exactly, whatever the pattern (:mod:`refgru.onnx.mask`). Refused:
a masked tensor into a layer with several tensor inputs (a merge), and a masked GRU given an
``initial_state`` without an explicit ``mask=`` (Keras 3 drops such a mask, tf-keras keeps it).

The ONNX model has one input per Keras input (named as the ``InputLayer``; the batch axis is ``batch``)
and one output per Keras output tensor, in the order Keras returns them, named after the layer that
makes it (``<layer>_<k>`` for the k-th tensor of a layer with several, such as ``return_state``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import error, quote
from .activations import ONNX_TABLE
from .graph import OnnxGraph
from .gru_node import cast_layer, gru_layer
from .mask_layers import OPS, not_equal, output_masks, reduce_bool, rnn_masks, run_op


def _where(layer, detail: str = "") -> str:
    """``layer 'name'`` (quoted, one line) and an optional detail, as the argument of a message."""
    return f"layer {quote(layer.name)}" + (f" {detail}" if detail else "")


def _activation(g: OnnxGraph, x: str, layer, key: str = "activation") -> str:
    from ..model.registry import activation_name

    name = activation_name(layer.config, key, "linear") or "linear"
    table = ONNX_TABLE[g.keras_version]
    if name not in table:
        raise error(_where(layer, key), f"an activation with an ONNX equivalent ({', '.join(sorted(table))})", name)
    y = table[name].apply(g, x)
    g.types[y] = g.types[x]
    return y


def _dtype(layer, override: np.dtype | None) -> np.dtype:
    from ..model.registry import layer_dtype

    return override if override is not None else layer_dtype(layer.config)


def _gru(g, layer, xs, states, override, mask=None):
    for flag in ("stateful", "time_major"):
        if getattr(layer, flag, False):
            raise error(_where(layer, flag), "False: an ONNX model keeps no state between runs and takes "
                        "batch-major input", got="True")
    w = cast_layer(layer.w, override if override is not None else layer.dtype)
    return gru_layer(g, xs[0], [w], direction="reverse" if layer.go_backwards else "forward",
                     return_sequences=layer.return_sequences, return_state=layer.return_state,
                     initial_states=states[:1],
                     activation=layer.activation, recurrent_activation=layer.recurrent_activation,
                     keras_version=layer.keras_version, mask=mask,
                     zero_output_for_mask=bool(layer.zero_output_for_mask)), w.dtype


def _bidirectional(g, layer, xs, states, override, mask=None):
    fw, bw = layer.forward, layer.backward
    keys = ("activation", "recurrent_activation", "return_sequences", "dtype")
    same = [(k, getattr(fw, k), getattr(bw, k)) for k in keys]
    if fw.go_backwards or not bw.go_backwards or any(a != b for _, a, b in same):
        raise error(_where(layer), "a forward GRU and its go_backwards copy (ONNX runs both "
                    "directions with one set of options)", got=f"forward {fw.describe()}; backward {bw.describe()}")
    for half in (fw, bw):
        if half.stateful or getattr(half, "time_major", False):
            raise error(_where(layer), "stateful=False and time_major=False", got=half.describe())
    if states and len(states) != 2:
        raise error(_where(layer, "initial_state"), "two states (forward, backward)", got=f"{len(states)}")
    dtype = override if override is not None else fw.dtype
    weights = [cast_layer(half.w, dtype) for half in (fw, bw)]
    return gru_layer(g, xs[0], weights, direction="bidirectional", return_sequences=layer.return_sequences,
                     return_state=layer.return_state, merge_mode=layer.merge_mode, initial_states=states,
                     activation=fw.activation, recurrent_activation=fw.recurrent_activation,
                     keras_version=fw.keras_version, mask=mask,
                     zero_output_for_mask=bool(fw.zero_output_for_mask)), dtype


def _dense(g, layer, xs, states, override):
    dtype = _dtype(layer, override)
    arrays = [np.asarray(a).astype(dtype) for a in layer.weights]
    y = g.op1("MatMul", g.cast(xs[0], dtype), g.const("kernel", arrays[0]))
    if len(arrays) == 2:
        y = g.op1("Add", y, g.const("bias", arrays[1]))
    g.types[y] = dtype
    return [_activation(g, y, layer)], dtype


def _time_distributed(g, layer, xs, states, override):
    if layer.inner.class_name != "Dense":
        raise error(_where(layer, "layer"), "a Dense (the only TimeDistributed layer exported to ONNX)",
                    got=quote(layer.inner.class_name))
    return _dense(g, layer.inner, xs, states, override)


def _activation_layer(g, layer, xs, states, override):
    dtype = _dtype(layer, override)
    return [_activation(g, g.cast(xs[0], dtype), layer)], dtype


def _embedding(g, layer, xs, states, override):
    table = layer.embeddings if override is None else layer.embeddings.astype(override)
    ids = xs[0] if g.types[xs[0]].kind in "iu" else g.op1("Cast", xs[0], to=g.onnx.TensorProto.INT64)
    return [g.op1("Gather", g.const("embeddings", table), ids, axis=0)], table.dtype


def _masking(g, layer, xs, states, override):
    """``Masking``: its output ``x * mask`` and its mask ``any(x != mask_value, axis=-1)``."""
    x = g.cast(xs[0], _dtype(layer, override))
    mask = reduce_bool(g, not_equal(g, x, layer.mask_value), "ReduceMax", -1, False)
    keep = g.op1("Unsqueeze", g.op1("Cast", mask, to=g.onnx.helper.np_dtype_to_tensor_dtype(g.types[x])), g.ints([2]))
    return [g.op1("Mul", x, keep)], g.types[x], [mask]


def _mask_zero(g, layer, xs, states, override):
    """``Embedding(mask_zero=True)``: its output and its mask ``ids != 0``."""
    outputs, dtype = _embedding(g, layer, xs, states, override)
    return outputs, dtype, [not_equal(g, xs[0], 0)]


#: The layers that make a mask: ``(graph, layer, inputs, states, dtype) -> (outputs, dtype, output masks)``.
MASK_MAKERS: dict[str, Callable] = {"Masking": _masking, "Embedding": _mask_zero}
#: The layers that run a mask (the exporter takes ``mask=``) and pass it on when they return sequences.
MASK_USERS = ("GRU", "CuDNNGRU", "Bidirectional")


def _flatten(g, layer, xs, states, override):
    if layer.config.get("data_format") == "channels_first":
        raise error(_where(layer, "data_format"), "channels_last", got="channels_first")
    return [g.op1("Reshape", xs[0], g.ints([0, -1]))], g.types[xs[0]]


def _reshape(g, layer, xs, states, override):
    return [g.op1("Reshape", xs[0], g.ints([0] + [int(d) for d in layer.config["target_shape"]]))], g.types[xs[0]]


def _repeat_vector(g, layer, xs, states, override):
    n = int(layer.config["n"])
    return [g.op1("Tile", g.op1("Unsqueeze", xs[0], g.ints([1])), g.ints([1, n, 1]))], g.types[xs[0]]


def _merge(op_type: str, average: bool = False):
    def export(g, layer, xs, states, override):
        if len(xs) < 2:
            raise error(_where(layer, "inputs"), "at least 2 tensors", got=f"{len(xs)}")
        y = xs[0]
        for x in xs[1:]:  # left to right, as Keras accumulates
            y = g.op1(op_type, y, x)
        g.types[y] = g.types[xs[0]]
        if average:
            y = g.op1("Div", y, g.const_like(len(xs), y))
        return [y], g.types[xs[0]]
    return export


def _concatenate(g, layer, xs, states, override):
    return [g.op1("Concat", *xs, axis=int(layer.config.get("axis", -1)))], g.types[xs[0]]


def _identity(g, layer, xs, states, override):
    return [xs[0]], g.types[xs[0]]


#: Keras class -> exporter ``(graph, layer, inputs, initial states, dtype) -> (output names, dtype)``.
EXPORTERS: dict[str, Callable] = {
    "GRU": _gru, "CuDNNGRU": _gru, "Bidirectional": _bidirectional, "Dense": _dense,
    "TimeDistributed": _time_distributed, "Activation": _activation_layer, "Embedding": _embedding,
    "Flatten": _flatten, "Reshape": _reshape, "RepeatVector": _repeat_vector, "Dropout": _identity,
    "SpatialDropout1D": _identity, "GaussianNoise": _identity,
    "GaussianDropout": _identity, "Add": _merge("Add"), "Subtract": _merge("Sub"), "Multiply": _merge("Mul"),
    "Average": _merge("Add", average=True), "Maximum": _merge("Max"), "Minimum": _merge("Min"),
    "Concatenate": _concatenate, "Masking": lambda *args: _masking(*args)[:2],
}


def _refs(value: Any) -> list:
    """The tensor references (``refgru.model.config.Ref``) in a nested list/dict of call arguments, in order."""
    from ..model.config import Ref

    if isinstance(value, Ref):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else []
    return [ref for item in items for ref in _refs(item)]


def _check_exportable(model) -> None:
    for entry in model.graph.entries:
        if entry.op:
            if entry.class_name not in OPS:
                raise error(f"op {quote(entry.name)}", f"a Keras 3 mask op with an ONNX equivalent ({', '.join(OPS)})",
                            got=quote(entry.class_name))
        elif entry.class_name not in EXPORTERS and entry.class_name != "InputLayer":
            names = ", ".join(sorted(EXPORTERS))
            raise error(_where(entry), f"a layer class with an ONNX equivalent ({names})",
                        got=quote(entry.class_name))


def model_graph(g: OnnxGraph, model, dtype: np.dtype | None) -> tuple[list, list[str], list[str]]:
    """Add ``model``'s computation to ``g``; returns ``(graph inputs, output tensors, output names)``."""
    _check_exportable(model)
    g.keras_version = model.keras_version  # decides hard_sigmoid in Dense and Activation layers
    entries = {e.name: e for e in model.graph.entries}
    from ..model.config import Ref

    values: dict[tuple[str, int], list[str]] = {}
    masks: dict[tuple[str, int], list] = {}  # the Keras mask (a bool (B, T) tensor) of each output, or None
    inputs = []
    for ref in _refs(model.graph.inputs):
        layer = model.get_layer(ref.layer)
        shape = getattr(layer, "shape", None)
        if not shape:
            raise error(f"layer {quote(ref.layer)} (InputLayer)", "a saved input shape", got="none")
        dt = dtype if dtype is not None and layer.dtype.kind == "f" else layer.dtype
        dims = ["batch"] + [d if d is not None else f"{ref.layer}_dim{i}" for i, d in enumerate(shape[1:], 1)]
        inputs.append(g.onnx.helper.make_tensor_value_info(ref.layer, g.onnx.helper.np_dtype_to_tensor_dtype(dt), dims))
        values[(ref.layer, 0)], masks[(ref.layer, 0)] = [ref.layer], [None]
        g.types[ref.layer] = dt

    def tensor(ref) -> str:
        return computed(ref)[0][ref.tensor]

    def mask_of(ref) -> str | None:
        return computed(ref)[1][ref.tensor]

    def computed(ref) -> tuple[list[str], list]:
        key = (ref.layer, ref.node)
        if key not in values:
            values[key], masks[key] = run(key)
        return values[key], masks[key]

    def run(key) -> tuple[list[str], list]:
        entry = entries[key[0]]
        if entry.class_name == "InputLayer":
            raise error("model inputs", "every InputLayer the outputs use", got=f"{quote(key[0])} missing")
        call = entry.calls[key[1]]
        if entry.op:
            args = [tensor(a) if isinstance(a, Ref) else a for a in call.args]
            return [run_op(g, entry, args)], [None]
        extra = {k: v for k, v in call.kwargs.items()
                 if k not in ("training", "initial_state", "mask") and v is not None}
        if extra:
            raise error(_where(entry, "call"), "no arguments besides the input, initial_state and mask",
                        got=quote(sorted(extra)))
        first = call.args[0] if call.args else None
        first_refs = _refs(first)
        xs = [tensor(r) for r in first_refs]
        states = [tensor(r) for r in _refs([call.args[1:], call.kwargs.get("initial_state")])]
        if entry.class_name in MASK_USERS and isinstance(first, list):
            xs, states = xs[:1], xs[1:] + states  # tf-keras: layer([x, h0])
            first_refs = first_refs[:1]
        if not xs:
            raise error(_where(entry, "call"), "a tensor input", first)
        implicit = [mask_of(r) for r in first_refs]
        explicit = call.kwargs.get("mask")
        mask = tensor(explicit) if isinstance(explicit, Ref) else implicit[0] if len(implicit) == 1 else None
        layer = model.get_layer(entry.name)
        if explicit is None and len(implicit) > 1 and any(m is not None for m in implicit):
            raise error(_where(entry, "inputs"), "no masks on the tensors of a layer with several inputs (merged "
                        "masks are not exported)", got="a masked input")
        if entry.class_name in MASK_USERS:
            if mask is not None and states and explicit is None:
                raise error(_where(entry, "call"), "a mask or an initial_state, not both (Keras 3 drops such an "
                            "implicit mask, tf-keras keeps it)", got="both")
            outputs, out_dtype = EXPORTERS[entry.class_name](g, layer, xs, states, dtype, mask=mask)
            masks = rnn_masks(layer, outputs, mask)
        elif entry.class_name in MASK_MAKERS and (entry.class_name == "Masking" or layer.mask_zero):
            outputs, out_dtype, masks = MASK_MAKERS[entry.class_name](g, layer, xs, states, dtype)
        else:
            outputs, out_dtype = EXPORTERS[entry.class_name](g, layer, xs, states, dtype)
            masks = output_masks(layer, outputs, mask)
        g.types.update({name: out_dtype for name in outputs})
        return outputs, masks

    refs = _refs(model.graph.outputs)
    outputs = [tensor(r) for r in refs]
    names, seen = [], set()
    for r in refs:
        name = r.layer if len(values[(r.layer, r.node)]) == 1 else f"{r.layer}_{r.tensor}"
        name = name if name not in seen and name not in g.types else f"{name}_{len(names)}"
        seen.add(name)
        names.append(name)
    return inputs, outputs, names


__all__ = ["EXPORTERS", "MASK_MAKERS", "MASK_USERS", "OPS", "model_graph"]
