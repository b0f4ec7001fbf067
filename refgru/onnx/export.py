"""Write a Keras GRU layer (:func:`export_layer`) or a loaded model (:func:`export_model`) as an ONNX model.

:func:`export_onnx` (``refgru.export_onnx``) dispatches between the two. The ONNX model takes and
returns what Keras does: input ``x`` ``(B, T, input_dim)``, batch-major; outputs ``output`` (``(B, u)``
or ``(B, T, u)``) and, with ``return_state``, ``state`` ``(B, u)``.

The ``onnx`` package is imported only when a model is built. onnxruntime 1.32 runs the ``GRU`` node in
float32 only; a float64 export is a valid ONNX model that onnxruntime refuses (pass ``dtype="float32"``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from ..core.checks import check_flag
from ..errors import error
from ..weights import as_weights
from .graph import OnnxGraph
from .gru_node import cast_layer, gru_layer
from .model import model_graph

#: ONNX opset and IR version written: opset 14 has Squeeze/Unsqueeze axes as inputs and Slice steps, and
#: IR 7 is what ONNX 1.9 (which brought opset 14) writes, so runtimes older than the writing onnx load it.
OPSET, IR_VERSION = 14, 7


@dataclass(frozen=True)
class LayerOptions:
    """The options of one exported GRU layer, with Keras's defaults; a model's layers carry their own."""

    activation: object = "tanh"
    recurrent_activation: object = "sigmoid"
    keras_version: int = 3
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    initial_state: bool = False

    def __post_init__(self) -> None:
        for name in ("return_sequences", "return_state", "go_backwards", "initial_state"):
            check_flag(name, getattr(self, name))


def _onnx():
    import onnx
    import onnx.numpy_helper  # noqa: F401  (makes onnx.numpy_helper and onnx.shape_inference available)
    import onnx.shape_inference  # noqa: F401

    return onnx


def float_dtype(dtype) -> np.dtype | None:
    """``None``, or ``dtype`` as float32 / float64."""
    if dtype is None:
        return None
    try:
        result = np.dtype(dtype)
    except TypeError:
        result = None
    if result is None or result.kind != "f" or result.itemsize not in (4, 8):
        raise error("dtype", "'float32', 'float64' or None", dtype)
    return result


def build_model(g: OnnxGraph, inputs: list, outputs: list[str], names: list[str], doc: str,
                shapes: list | None = None):
    """Wrap ``g`` into a checked ``onnx.ModelProto`` whose graph outputs ``names`` are the tensors ``outputs``.

    ``shapes`` gives each output's shape (``None``: found by ONNX shape inference).
    """
    onnx = g.onnx
    for tensor, name in zip(outputs, names, strict=True):
        g.nodes.append(onnx.helper.make_node("Identity", [tensor], [name], name=g.name("Output")))
    if shapes is None:
        infos = [onnx.helper.make_empty_tensor_value_info(name) for name in names]
    else:
        infos = [onnx.helper.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(g.types[t]), s)
                 for n, t, s in zip(names, outputs, shapes, strict=True)]
    graph = onnx.helper.make_graph(g.nodes, "refgru", inputs, infos, g.initializers, doc_string=doc)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   producer_name="refgru", ir_version=IR_VERSION)
    if shapes is None:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        model.graph.ClearField("output")
        model.graph.output.extend(inferred.graph.output)
    onnx.checker.check_model(model, full_check=True)
    return model


def _save(model, path):
    if path is not None:
        _onnx().save(model, str(path))
    return model


def export_layer(weights, path=None, *, dtype=None, **options):
    """The ONNX model of one Keras GRU layer (written to ``path`` unless ``None``); see :func:`export_onnx`."""
    opts = LayerOptions(**_known(options))
    w = as_weights(weights)
    w = cast_layer(w, float_dtype(dtype) or w.dtype)
    onnx = _onnx()
    g = OnnxGraph(onnx, opts.keras_version)
    elem = onnx.helper.np_dtype_to_tensor_dtype(w.dtype)
    inputs = [onnx.helper.make_tensor_value_info("x", elem, ["batch", "time", w.kernel.shape[0]])]
    g.types["x"] = w.dtype
    if opts.initial_state:
        inputs.append(onnx.helper.make_tensor_value_info("initial_state", elem, ["batch", w.units]))
        g.types["initial_state"] = w.dtype
    outputs = gru_layer(g, "x", [w], direction="reverse" if opts.go_backwards else "forward",
                        return_sequences=opts.return_sequences, return_state=opts.return_state,
                        initial_states=["initial_state"] if opts.initial_state else [], activation=opts.activation,
                        recurrent_activation=opts.recurrent_activation, keras_version=opts.keras_version)
    g.types.update({name: w.dtype for name in outputs})
    shapes = [["batch", "time", w.units] if opts.return_sequences else ["batch", w.units], ["batch", w.units]]
    model = build_model(g, inputs, outputs, ["output", "state"][: len(outputs)],
                        f"Keras GRU({w.units}) exported by refgru: {w!r}", shapes[: len(outputs)])
    return _save(model, path)


def export_model(model, path=None, *, dtype=None):
    """The ONNX model of a loaded Keras model (written to ``path`` unless ``None``); see :func:`export_onnx`."""
    g = OnnxGraph(_onnx(), model.keras_version)
    inputs, outputs, names = model_graph(g, model, float_dtype(dtype))
    return _save(build_model(g, inputs, outputs, names, f"Keras model {model.name!r} exported by refgru"), path)


def _known(options: dict) -> dict:
    names = [f.name for f in fields(LayerOptions)]
    for key in options:
        if key not in names:
            raise error("options", f"a layer option ({', '.join(names)})", key)
    return options


def is_model(value: object) -> bool:
    """Whether ``value`` is a loaded model (``refgru.load_model`` / ``refgru.from_keras``), not weights."""
    return hasattr(value, "layers") and hasattr(value, "graph")


def export_onnx(model_or_weights, path=None, *, dtype=None, **options):
    """Write an ONNX model that computes a Keras GRU layer (or a loaded Keras model) and return it.

    Arguments:
        model_or_weights: ``GRU.get_weights()``, a :class:`GRUWeights`, or a model from
            :func:`refgru.load_model` / :func:`refgru.from_keras` (its layers carry their own options,
            so the layer options below must stay at their defaults).
        path: where to write the ``.onnx`` file (``None``: only build the model).
        dtype: cast the weights (e.g. ``"float32"`` for onnxruntime); default the weights' dtype.
        options: the layer's :class:`LayerOptions`: ``activation``, ``recurrent_activation``,
            ``keras_version`` (see :func:`refgru.onnx.gru_node.onnx_activations`), ``return_sequences``,
            ``return_state``, ``go_backwards``, and ``initial_state`` (add a second graph input
            ``initial_state`` ``(B, u)``).

    Returns:
        The ``onnx.ModelProto``. For a layer: input ``x`` ``(B, T, input_dim)`` (and ``initial_state``),
        outputs ``output`` (``(B, u)`` or ``(B, T, u)``) and, with ``return_state``, ``state`` ``(B, u)``.
        For a model: one input per Keras input (by name) and one output per Keras output tensor (see
        :func:`refgru.onnx.model.model_graph`). Masks from ``Embedding(mask_zero=True)`` and ``Masking``
        are computed in the graph and run exactly, for any pattern (:mod:`refgru.onnx.mask`).
    """
    if not is_model(model_or_weights):
        return export_layer(model_or_weights, path, dtype=dtype, **options)
    defaults = asdict(LayerOptions())
    for key, value in _known(options).items():
        if value != defaults[key]:
            raise error(key, f"the default {defaults[key]!r} when exporting a model (each layer's config holds "
                        "its options)", value)
    return export_model(model_or_weights, path, dtype=dtype)


__all__ = ["IR_VERSION", "LayerOptions", "OPSET", "build_model", "export_layer", "export_model", "export_onnx",
           "float_dtype", "is_model"]
