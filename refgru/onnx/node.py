"""Reading an ONNX ``GRU`` node: its attributes, its inputs (feeds or initializers) and its weights.

Shared by :func:`refgru.onnx.run.onnx_gru` (which runs any node) and :func:`weights_from_node`
(``GRUWeights.from_onnx_node``, which takes only what a :class:`GRUWeights` can hold). ``onnx`` is
imported only inside the functions that read protos.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import error

#: Attribute -> (AttributeProto type name, default). ``None``: no default (hidden_size is read from R).
ATTRIBUTES: dict[str, tuple[str, object]] = {
    "activation_alpha": ("FLOATS", []), "activation_beta": ("FLOATS", []), "activations": ("STRINGS", None),
    "clip": ("FLOAT", None), "direction": ("STRING", "forward"), "hidden_size": ("INT", None),
    "layout": ("INT", 0), "linear_before_reset": ("INT", 0),
}

#: The GRU node's inputs and outputs, by position.
INPUTS = ("X", "W", "R", "B", "sequence_lens", "initial_h")
OUTPUTS = ("Y", "Y_h")
DIRECTIONS = {"forward": (False,), "reverse": (True,), "bidirectional": (False, True)}


def read_attributes(node, opset: int | None) -> dict[str, object]:
    from onnx import helper

    values = {name: default for name, (_, default) in ATTRIBUTES.items()}
    for attribute in node.attribute:
        if attribute.name not in ATTRIBUTES:
            raise error("node_or_model", f"GRU attributes from {sorted(ATTRIBUTES)} (opsets 7-22)",
                        got=f"an attribute {attribute.name!r}")
        kind = ATTRIBUTES[attribute.name][0]
        if attribute.type != getattr(attribute.__class__, kind):
            raise error(attribute.name, f"a {kind} attribute", got=f"type {attribute.type}")
        value = helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif kind == "STRINGS":
            value = [v.decode("utf-8", "replace") for v in value]
        values[attribute.name] = value
    if values["direction"] not in DIRECTIONS:
        raise error("direction", f"one of {list(DIRECTIONS)}", values["direction"])
    for key, choices in (("layout", (0, 1)), ("linear_before_reset", (0, 1))):
        if values[key] not in choices:
            raise error(key, "0 or 1", values[key])
    if opset is not None and opset < 14 and any(a.name == "layout" for a in node.attribute):
        raise error("layout", "no layout attribute before opset 14 (GRU-14 added it)", got=f"one in opset {opset}")
    clip = values["clip"]
    if clip is not None and not (np.isfinite(clip) and clip > 0):
        raise error("clip", "a finite threshold > 0", clip)
    return values


def find_node(node_or_model) -> tuple[object, dict[str, object], set[str], int | None]:
    """``(node, initializers, graph input names, opset)`` of a NodeProto or a one-GRU ModelProto."""
    graph = getattr(node_or_model, "graph", None)
    if graph is None:
        op_type = getattr(node_or_model, "op_type", None)
        if op_type != "GRU":
            got = f"a {type(node_or_model).__name__}" + ("" if op_type is None else f" with op_type {op_type!r}")
            raise error("node_or_model", "an ONNX GRU NodeProto or a ModelProto holding one", got=got)
        node, initializers, graph_inputs, opset = node_or_model, {}, None, None
    else:
        ops = [n.op_type for n in graph.node]
        if ops != ["GRU"]:
            raise error("node_or_model", "a model whose graph holds exactly one node, a GRU", got=f"nodes {ops}")
        node = graph.node[0]
        initializers = {t.name: t for t in graph.initializer}
        graph_inputs = {v.name for v in graph.input}
        versions = [o.version for o in node_or_model.opset_import if o.domain in ("", "ai.onnx")]
        opset = versions[0] if versions else None
        if opset is not None and opset < 7:
            raise error("node_or_model", "opset 7 or later (GRU-1 and GRU-3 differ)", got=f"opset {opset}")
    if node.domain not in ("", "ai.onnx"):
        raise error("node_or_model", "a GRU node of the default ONNX domain", got=f"domain {node.domain!r}")
    return node, initializers, graph_inputs, opset


def node_values(node, initializers: dict, graph_inputs: set[str] | None, inputs: Mapping | None,
                roles: tuple[str, ...] = INPUTS) -> dict[str, object]:
    """The node's present inputs among ``roles`` (``"X"``, ``"W"``, ...), by role, from feeds and initializers.

    ``inputs`` may name any input of the node that is not a constant initializer; ``X``, ``W`` and ``R``
    must be present (those of them in ``roles`` must have a value).
    """
    from onnx import numpy_helper

    if inputs is None:
        inputs = {}
    if not isinstance(inputs, Mapping):
        raise error("inputs", "a dict of arrays keyed by ONNX tensor name, like onnxruntime's feeds", inputs)
    if len(node.input) > len(INPUTS) or len(node.output) > len(OUTPUTS):
        raise error("node_or_model", f"a GRU node with at most {len(INPUTS)} inputs and {len(OUTPUTS)} outputs",
                    got=f"{len(node.input)} inputs and {len(node.output)} outputs")
    present = [(role, name) for role, name in zip(INPUTS, node.input, strict=False) if name]
    wanted = {name for _, name in present}
    for name in inputs:
        constant = name in initializers and graph_inputs is not None and name not in graph_inputs
        if name not in wanted or constant:
            why = "a constant initializer" if constant else "not an input of the GRU node"
            raise error("inputs", f"feeds for the node's inputs {sorted(set(wanted) - set(initializers))}",
                        got=f"a feed {name!r} ({why})")
    for role in ("X", "W", "R"):
        if role not in dict(present):
            raise error("node_or_model", f"a GRU node with its required input {role}", got=f"inputs {list(node.input)}")
    values = {}
    for role, name in present:
        if role not in roles:
            continue
        if name in inputs:
            values[role] = inputs[name]
        elif name in initializers:
            values[role] = numpy_helper.to_array(initializers[name])
        else:
            raise error("inputs", f"a value for the GRU input {role} (tensor {name!r})",
                        got="no feed and no initializer")
    return values


#: The ``activations`` of a node that :class:`GRUWeights` can stand for (Keras's defaults), per direction.
DEFAULT_ACTIVATIONS = ["sigmoid", "tanh"]


def weights_from_node(node_or_model, inputs: Mapping[str, object] | None = None, direction: str | None = None):
    """The Keras arrays of an ONNX GRU node's ``W``, ``R``, ``B``, with every attribute read from the node.

    ``linear_before_reset`` (ONNX's default 0), ``direction`` and ``hidden_size`` come from the node; a
    node whose activations are not the default ``[Sigmoid, Tanh]`` per direction, or that has ``clip``,
    is refused: weights alone would not compute it (:func:`refgru.onnx.run.onnx_gru` runs any node).
    ``inputs`` holds the weights that are not initializers, like onnxruntime's feeds; ``direction``
    picks one layer of a bidirectional node (see :func:`refgru.convert.from_onnx`).
    """
    from ..convert import onnx_arrays

    node, initializers, graph_inputs, opset = find_node(node_or_model)
    attributes = read_attributes(node, opset)
    d = len(DIRECTIONS[attributes["direction"]])
    names = attributes["activations"]
    if names is not None and [str(n).lower() for n in names] != DEFAULT_ACTIVATIONS * d:
        raise error("activations", f"the default {['Sigmoid', 'Tanh'] * d} (a GRUWeights holds weights only; "
                    "refgru.onnx_gru runs a node with any activations)", list(names))
    for key in ("activation_alpha", "activation_beta", "clip"):
        if attributes[key] not in ([], None):
            raise error(key, "none (a GRUWeights holds weights only; refgru.onnx_gru runs a node with it)",
                        attributes[key])
    values = node_values(node, initializers, graph_inputs, inputs, roles=("W", "R", "B"))
    W = np.asarray(values["W"])
    if W.ndim != 3 or W.shape[0] != d:
        raise error("W", f"shape ({d}, 3 * hidden_size, input_size) for direction={attributes['direction']!r}", W)
    u = attributes["hidden_size"]
    if u is not None and W.shape[1] != 3 * u:
        raise error("W", f"shape ({d}, {3 * u}, input_size) for hidden_size={u}", W)
    return onnx_arrays.from_onnx(values["W"], values["R"], values.get("B"), attributes["linear_before_reset"],
                                 direction)


__all__ = ["ATTRIBUTES", "DEFAULT_ACTIVATIONS", "DIRECTIONS", "INPUTS", "OUTPUTS", "find_node", "node_values",
           "read_attributes", "weights_from_node"]
