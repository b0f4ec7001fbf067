"""``export_onnx``: write a Keras GRU layer (or a loaded model of ONNX-expressible layers) as an ONNX model.

The weights go through :func:`refgru.convert.to_onnx`; this module adds the graph around the ``GRU``
node so that the ONNX model takes and returns what the Keras layer does:

- input ``x`` ``(B, T, input_dim)``, batch-major like Keras. The ONNX ``GRU`` node is time-major
  (``layout=0``: onnxruntime refuses ``layout=1``), so a ``Transpose`` feeds it and another brings the
  output back.
- ``go_backwards=True`` is ``direction="reverse"``. ONNX indexes a reverse pass's ``Y`` by original time,
  Keras by processing order (``out[:, t]`` belongs to input step ``T - 1 - t``), so a ``Slice`` with
  step -1 reverses ``Y`` for ``return_sequences``.
- outputs ``output`` (``(B, u)`` or ``(B, T, u)``) and, with ``return_state``, ``state`` ``(B, u)``.

The ``onnx`` package is imported only when a model is built. onnxruntime 1.32 runs the ``GRU`` node in
float32 only; a float64 export is a valid ONNX model that onnxruntime refuses (pass ``dtype="float32"``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import convert
from .activations import LEAKY_RELU_SLOPE, check_keras_version
from .errors import RefgruError, describe
from .weights import GRUWeights, as_weights

#: ONNX opset and IR version written: opset 14 has Squeeze/Unsqueeze axes as inputs and Slice steps, and
#: IR 7 is what ONNX 1.9 (which brought opset 14) writes, so runtimes older than the writing onnx load it.
OPSET, IR_VERSION = 14, 7

#: Keras activation -> (ONNX GRU activation, alpha, beta); None where that ONNX function takes no value.
#: Each pair was checked against Keras 3, tf-keras and onnxruntime (tests/test_convert_onnx.py).
_COMMON = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None),
    "linear": ("Affine", 1.0, 0.0),
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
    "elu": ("Elu", 1.0, None),
    "leaky_relu": ("LeakyRelu", LEAKY_RELU_SLOPE, None),
}
ONNX_ACTIVATIONS: dict[int, dict[str, tuple[str, float | None, float | None]]] = {
    2: {**_COMMON, "hard_sigmoid": ("HardSigmoid", 0.2, 0.5)},
    3: {**_COMMON, "hard_sigmoid": ("HardSigmoid", 1 / 6, 0.5), "celu": ("Elu", 1.0, None),
        "sparse_sigmoid": ("HardSigmoid", 0.5, 0.5)},
}
#: The activations the ONNX GRU operator defines.
ONNX_GRU_FUNCTIONS = ("Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
                      "HardSigmoid", "Elu", "Softsign", "Softplus")


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
            raise RefgruError(f"{argument}: expected a Keras {keras_version} activation the ONNX GRU operator "
                              f"can compute ({', '.join(sorted(table))}), got {describe(spec)}: the operator "
                              f"offers only {', '.join(ONNX_GRU_FUNCTIONS)}")
        functions.append(table[spec])
    functions *= num_directions
    attributes = {"activations": [name for name, _, _ in functions],
                  "activation_alpha": [float(a) for _, a, _ in functions if a is not None],
                  "activation_beta": [float(b) for _, _, b in functions if b is not None]}
    return {key: value for key, value in attributes.items() if value}


class _Graph:
    """Nodes, initializers, a name counter and the dtype of named float tensors, for one ONNX graph."""

    def __init__(self, onnx_module):
        self.onnx = onnx_module
        self.nodes: list = []
        self.initializers: list = []
        self.types: dict[str, np.dtype] = {}
        self.count = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}/{self.count}"  # "/" never occurs in a Keras layer name, so no clash with one

    def const(self, base: str, value) -> str:
        name = self.name(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attributes) -> list[str]:
        names = [self.name(op_type.lower()) for _ in range(outputs)]
        node = self.onnx.helper.make_node(op_type, list(inputs), names, name=self.name(op_type), **attributes)
        self.nodes.append(node)
        return names

    def op1(self, op_type: str, *inputs: str, **attributes) -> str:
        return self.op(op_type, inputs, **attributes)[0]

    def ints(self, values: Sequence[int]) -> str:
        return self.const("ints", np.array(values, np.int64))

    def cast(self, x: str, dtype: np.dtype) -> str:
        """``x`` in ``dtype``, as Keras casts a layer's inputs to its compute dtype (a Cast node if needed)."""
        if self.types.get(x) == np.dtype(dtype):
            return x
        y = self.op1("Cast", x, to=self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
        self.types[y] = np.dtype(dtype)
        return y


def gru_layer(g: _Graph, x: str, weights: list[GRUWeights], *, direction: str, return_sequences: bool,
              return_state: bool, merge_mode: str | None = "concat", initial_states: Sequence[str] = (),
              activation: object = "tanh", recurrent_activation: object = "sigmoid",
              keras_version: int = 3) -> list[str]:
    """Add a Keras GRU (or Bidirectional(GRU)) to ``g``, reading ``x`` ``(B, T, F)``; returns Keras's outputs.

    ``weights`` is ``[layer]`` (``direction`` "forward" or "reverse" = ``go_backwards``) or
    ``[forward, backward]`` (``direction="bidirectional"``), all of one dtype, which ``x`` is cast to.
    ``initial_states``: no names, or one ``(B, u)`` name per direction. The returned tensor names are, as in Keras:
    ``[output]`` or ``[output, state]``; bidirectional ``[merged]`` (or ``[fw, bw]`` for ``merge_mode=None``)
    followed by ``[fw_state, bw_state]`` with ``return_state``.
    """
    arrays = convert.to_onnx(weights)
    u, d = weights[0].units, len(weights)
    dtype, h0 = weights[0].dtype, ""
    if initial_states:  # one (B, u) per direction -> initial_h (D, B, u)
        h0 = g.op1("Concat", *[g.op1("Unsqueeze", g.cast(h, dtype), g.ints([0])) for h in initial_states], axis=0)
    inputs = [g.op1("Transpose", g.cast(x, dtype), perm=[1, 0, 2]), g.const("W", arrays["W"]),
              g.const("R", arrays["R"]), "" if arrays["B"] is None else g.const("B", arrays["B"]), "", h0]
    while inputs[-1] == "":
        inputs.pop()
    attributes = onnx_activations(activation, recurrent_activation, keras_version, d)
    Y, Y_h = g.op("GRU", inputs, 2, hidden_size=u, direction=direction,
                  linear_before_reset=arrays["linear_before_reset"], **attributes)
    if d == 1:
        state = g.op1("Squeeze", Y_h, g.ints([0]))  # (1, B, u) -> (B, u)
        output = state
        if return_sequences:  # Y (T, 1, B, u) -> (B, T, u)
            output = g.op1("Transpose", g.op1("Squeeze", Y, g.ints([1])), perm=[1, 0, 2])
            if direction == "reverse":  # ONNX: by original time; Keras: by processing order
                start, stop = g.ints([-1]), g.ints([np.iinfo(np.int64).min])
                output = g.op1("Slice", output, start, stop, g.ints([1]), g.ints([-1]))
        return [output, state] if return_state else [output]
    # bidirectional: Y (T, 2, B, u) -> (B, T, 2, u); Y_h (2, B, u) -> (B, 2, u). Keras reverses the
    # backward sequence back to original time before merging, which is how ONNX indexes it already.
    both = g.op1("Transpose", Y, perm=[2, 0, 1, 3]) if return_sequences else g.op1("Transpose", Y_h, perm=[1, 0, 2])
    axis = 2 if return_sequences else 1
    if merge_mode == "concat":
        outputs = [g.op1("Reshape", both, g.ints([0, 0, -1] if return_sequences else [0, -1]))]
    elif merge_mode in ("sum", "mul", "ave"):
        reduce = {"sum": "ReduceSum", "mul": "ReduceProd", "ave": "ReduceMean"}[merge_mode]
        if reduce == "ReduceSum":  # opset 13+: axes as an input
            outputs = [g.op1(reduce, both, g.ints([axis]), keepdims=0)]
        else:
            outputs = [g.op1(reduce, both, axes=[axis], keepdims=0)]
    elif merge_mode is None:
        outputs = [g.op1("Squeeze", part, g.ints([axis])) for part in g.op("Split", [both], 2, axis=axis)]
    else:
        raise RefgruError(f"merge_mode: expected 'concat', 'sum', 'mul', 'ave' or None, got {describe(merge_mode)}")
    if return_state:
        outputs += [g.op1("Squeeze", part, g.ints([0])) for part in g.op("Split", [Y_h], 2, axis=0)]
    return outputs


def build_model(g: _Graph, inputs: list, outputs: list[str], names: list[str], doc: str, shapes: list | None = None):
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


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise RefgruError(f"{name}: expected True or False, got {describe(value)}")
    return bool(value)


def _cast_weights(w: GRUWeights, dtype: np.dtype) -> GRUWeights:
    if w.dtype == dtype:
        return w
    return GRUWeights(w.kernel.astype(dtype), w.recurrent_kernel.astype(dtype),
                      None if w.bias is None else w.bias.astype(dtype), w.reset_after)


def export_onnx(model_or_weights, path, *, activation: object = "tanh", recurrent_activation: object = "sigmoid",
                keras_version: int = 3, return_sequences: bool = False, return_state: bool = False,
                go_backwards: bool = False, initial_state: bool = False, dtype=None):
    """Write an ONNX model that computes a Keras GRU layer (or a loaded Keras model) and return it.

    Arguments:
        model_or_weights: ``GRU.get_weights()``, a :class:`GRUWeights`, or a model from
            :func:`refgru.load_model` / :func:`refgru.from_keras` (its layers carry their own options,
            so the layer options below must stay at their defaults).
        path: where to write the ``.onnx`` file (``None``: only build the model).
        activation, recurrent_activation, keras_version: the layer's; see :func:`onnx_activations`.
        return_sequences, return_state, go_backwards: the Keras layer's options.
        initial_state: add a second graph input ``initial_state`` ``(B, u)``.
        dtype: cast the weights (e.g. ``"float32"`` for onnxruntime); default the weights' dtype.

    Returns:
        The ``onnx.ModelProto``. For a layer: input ``x`` ``(B, T, input_dim)`` (and ``initial_state``),
        outputs ``output`` (``(B, u)`` or ``(B, T, u)``) and, with ``return_state``, ``state`` ``(B, u)``.
        For a model: one input per Keras input (by name) and one output per Keras output tensor (see
        :func:`refgru.onnx_model.model_graph`). Masks are not exported: the ONNX GRU has only
        ``sequence_lens``, which does not carry the previous output over masked steps as Keras does.
    """
    import onnx
    import onnx.numpy_helper  # noqa: F401  (makes onnx.numpy_helper and onnx.shape_inference available)
    import onnx.shape_inference  # noqa: F401

    dtype = None if dtype is None else _float_dtype(dtype)
    if hasattr(model_or_weights, "layers") and hasattr(model_or_weights, "graph"):
        from .onnx_model import model_graph

        options = dict(activation=activation, recurrent_activation=recurrent_activation, keras_version=keras_version,
                       return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                       initial_state=initial_state)
        for key, value in options.items():
            if value != export_onnx.__kwdefaults__[key]:
                raise RefgruError(f"{key}: expected the default {export_onnx.__kwdefaults__[key]!r} when exporting "
                                  f"a model (each layer's config holds its options), got {describe(value)}")
        g = _Graph(onnx)
        inputs, outputs, names = model_graph(g, model_or_weights, dtype)
        model = build_model(g, inputs, outputs, names, f"Keras model {model_or_weights.name!r} exported by refgru")
    else:
        w = as_weights(model_or_weights)
        flags = {n: _flag(n, v) for n, v in [("return_sequences", return_sequences), ("return_state", return_state),
                                             ("go_backwards", go_backwards), ("initial_state", initial_state)]}
        w = _cast_weights(w, w.dtype if dtype is None else dtype)
        g = _Graph(onnx)
        elem = onnx.helper.np_dtype_to_tensor_dtype(w.dtype)
        inputs = [onnx.helper.make_tensor_value_info("x", elem, ["batch", "time", w.input_dim])]
        g.types["x"] = w.dtype
        if flags["initial_state"]:
            inputs.append(onnx.helper.make_tensor_value_info("initial_state", elem, ["batch", w.units]))
            g.types["initial_state"] = w.dtype
        outputs = gru_layer(g, "x", [w], direction="reverse" if flags["go_backwards"] else "forward",
                            return_sequences=flags["return_sequences"], return_state=flags["return_state"],
                            initial_states=["initial_state"] if flags["initial_state"] else [], activation=activation,
                            recurrent_activation=recurrent_activation, keras_version=keras_version)
        g.types.update({name: w.dtype for name in outputs})
        shapes = [["batch", "time", w.units] if flags["return_sequences"] else ["batch", w.units], ["batch", w.units]]
        model = build_model(g, inputs, outputs, ["output", "state"][: len(outputs)],
                            f"Keras GRU({w.units}) exported by refgru: {w!r}", shapes[: len(outputs)])
    if path is not None:
        onnx.save(model, str(path))
    return model


def _float_dtype(dtype) -> np.dtype:
    try:
        result = np.dtype(dtype)
    except TypeError:
        result = None
    if result is None or result.kind != "f" or result.itemsize not in (4, 8):
        raise RefgruError(f"dtype: expected 'float32', 'float64' or None, got {describe(dtype)}")
    return result


__all__ = ["ONNX_ACTIVATIONS", "export_onnx", "gru_layer", "onnx_activations"]
