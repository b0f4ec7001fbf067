"""ONNX export of a loaded :class:`refgru.model.Model`: its graph, layer by layer, as ONNX nodes.

Used by :func:`refgru.onnx.export.export_model`. Each Keras class with an exact ONNX equivalent has one
exporter in :data:`EXPORTERS`; a model with any other class is refused with a :class:`RefgruError` that
names it. Masks are refused as a whole (``Masking``, ``Embedding(mask_zero=True)``, Keras 3 mask op nodes,
an explicit ``mask=``): the ONNX GRU's ``sequence_lens`` cannot carry the previous output over masked
steps as Keras does. ``stateful`` and ``time_major`` GRUs are refused too.

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


def _gru(g, layer, xs, states, override):
    for flag in ("stateful", "time_major"):
        if getattr(layer, flag, False):
            raise error(_where(layer, flag), "False: an ONNX model keeps no state between runs and takes "
                        "batch-major input", got="True")
    w = cast_layer(layer.w, override if override is not None else layer.dtype)
    return gru_layer(g, xs[0], [w], direction="reverse" if layer.go_backwards else "forward",
                     return_sequences=layer.return_sequences, return_state=layer.return_state,
                     initial_states=states[:1],
                     activation=layer.activation, recurrent_activation=layer.recurrent_activation,
                     keras_version=layer.keras_version), w.dtype


def _bidirectional(g, layer, xs, states, override):
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
                     keras_version=fw.keras_version), dtype


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
    "Concatenate": _concatenate,
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
        mask_zero = entry.class_name == "Embedding" and entry.config.get("mask_zero")
        if entry.class_name == "Masking" or entry.op or mask_zero:
            raise error(_where(entry, f"({entry.class_name})"), "no masks: ONNX's GRU has only sequence_lens, "
                        "which does not carry the previous output over masked steps as Keras does",
                        got="a layer that makes a mask")
        if entry.class_name not in EXPORTERS and entry.class_name != "InputLayer":
            names = ", ".join(sorted(EXPORTERS))
            raise error(_where(entry), f"a layer class with an ONNX equivalent ({names})", got=quote(entry.class_name))


def model_graph(g: OnnxGraph, model, dtype: np.dtype | None) -> tuple[list, list[str], list[str]]:
    """Add ``model``'s computation to ``g``; returns ``(graph inputs, output tensors, output names)``."""
    _check_exportable(model)
    g.keras_version = model.keras_version  # decides hard_sigmoid in Dense and Activation layers
    entries = {e.name: e for e in model.graph.entries}
    values: dict[tuple[str, int], list[str]] = {}
    inputs = []
    for ref in _refs(model.graph.inputs):
        layer = model.get_layer(ref.layer)
        shape = getattr(layer, "shape", None)
        if not shape:
            raise error(f"layer {quote(ref.layer)} (InputLayer)", "a saved input shape", got="none")
        dt = dtype if dtype is not None and layer.dtype.kind == "f" else layer.dtype
        dims = ["batch"] + [d if d is not None else f"{ref.layer}_dim{i}" for i, d in enumerate(shape[1:], 1)]
        inputs.append(g.onnx.helper.make_tensor_value_info(ref.layer, g.onnx.helper.np_dtype_to_tensor_dtype(dt), dims))
        values[(ref.layer, 0)] = [ref.layer]
        g.types[ref.layer] = dt

    def tensor(ref) -> str:
        key = (ref.layer, ref.node)
        if key not in values:
            values[key] = run(key)
        return values[key][ref.tensor]

    def run(key) -> list[str]:
        entry = entries[key[0]]
        if entry.class_name == "InputLayer":
            raise error("model inputs", "every InputLayer the outputs use", got=f"{quote(key[0])} missing")
        call = entry.calls[key[1]]
        extra = {k: v for k, v in call.kwargs.items() if k not in ("training", "initial_state") and v is not None}
        if extra:
            raise error(_where(entry, "call"), "no arguments besides the input and initial_state",
                        got=quote(sorted(extra)))
        first = call.args[0] if call.args else None
        xs = [tensor(r) for r in _refs(first)]
        states = [tensor(r) for r in _refs([call.args[1:], call.kwargs.get("initial_state")])]
        if entry.class_name in ("GRU", "CuDNNGRU", "Bidirectional") and isinstance(first, list):
            xs, states = xs[:1], xs[1:] + states  # tf-keras: layer([x, h0])
        if not xs:
            raise error(_where(entry, "call"), "a tensor input", first)
        outputs, out_dtype = EXPORTERS[entry.class_name](g, model.get_layer(entry.name), xs, states, dtype)
        g.types.update({name: out_dtype for name in outputs})
        return outputs

    refs = _refs(model.graph.outputs)
    outputs = [tensor(r) for r in refs]
    names, seen = [], set()
    for r in refs:
        name = r.layer if len(values[(r.layer, r.node)]) == 1 else f"{r.layer}_{r.tensor}"
        name = name if name not in seen and name not in g.types else f"{name}_{len(names)}"
        seen.add(name)
        names.append(name)
    return inputs, outputs, names


__all__ = ["EXPORTERS", "model_graph"]
