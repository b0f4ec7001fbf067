"""Looking inside a running :class:`~refgru.model.Model`: every layer's output, and the trace of one GRU.

:func:`layer_outputs` runs the model as ``predict`` does and keeps what every layer returned.
:func:`trace_layer` runs it once with a recorder on one GRU: the GRU's ``run(x, mask, initial_state)``
is seen with the input the layers before it computed, the mask the model gives it, the initial state
(an ``initial_state`` argument, or a stateful layer's carried state) and its own ``go_backwards`` (the
backward half of a Bidirectional has ``go_backwards=True``). That call is then replayed through
:func:`refgru.trace`, so the trace's ``h`` is the layer's output step by step, in processing order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RefgruError
from .registry import as_float, escape, unexpected


def gru_objects(model) -> dict[str, Any]:
    """``{label: built GRU layer}`` in layer order, with the labels of :meth:`Model.gru_layers`."""
    found, stack = {}, list(reversed(model.layers))
    while stack:
        layer = stack.pop()
        if callable(getattr(layer, "options", None)) and hasattr(layer, "w") and callable(getattr(layer, "run", None)):
            found[layer.label] = layer
        stack.extend(reversed(layer.sublayers))
    return found


def find_gru(model, layer: str | None, argument: str = "layer") -> tuple[str, Any]:
    """``(label, layer)`` of the GRU called ``layer`` (a name, or ``<bidirectional>/forward|backward``).

    ``None`` picks the model's only GRU. Every other choice is a one-line :class:`RefgruError` listing the labels.
    """
    grus = gru_objects(model)
    labels = list(grus)
    shown = ", ".join(escape(n) for n in labels[:12]) + (", ..." if len(labels) > 12 else "")
    if not grus:
        raise RefgruError(f"{argument}: expected a model with a GRU layer, got {escape(model.name)}, which has none")
    if layer is None:
        if len(grus) == 1:
            return labels[0], grus[labels[0]]
        raise RefgruError(f"{argument}: expected one of the {len(labels)} GRUs ({shown}) when the model has several, "
                          "got none")
    if layer in grus:
        return layer, grus[layer]
    halves = [n for n in labels if n.startswith(f"{layer}/")]
    hint = f" (a Bidirectional: name a direction, {' or '.join(map(escape, halves))})" if halves else ""
    raise RefgruError(f"{argument}: expected the name of a GRU ({shown}), got {escape(layer)}{hint}")


def run_values(model, x: Any) -> dict:
    """Run ``model`` on ``x`` like ``predict`` in one batch; ``{(layer, node): (outputs, masks)}`` of every call."""
    feeds = model._feeds(x)
    values: dict = {}
    for ref, feed in zip(model._inputs, feeds, strict=True):
        values[(ref.layer, 0)] = ([model._built[ref.layer].call(feed, None, {})], [None])
    for key in model._order:
        if key not in values:
            values[key] = model._run_node(key, values)
    return values


def layer_outputs(model, x: Any) -> dict[str, Any]:
    """Every layer's output on ``x``, by layer name, in the order the model runs them.

    A layer with one output gives an array, one with several (``return_state``, ``merge_mode=None``) a
    list; a layer called more than once (a shared layer) gives its first call under ``name`` and call
    ``k`` under ``name:k``. Input layers give the input. Keras 3 op nodes (``NotEqual``...) are left out.
    """
    with unexpected("x"):
        values = run_values(model, x)
    out: dict[str, Any] = {}
    for (name, node), (outputs, _) in values.items():
        if model._entries[name].op:
            continue
        out[name if node == 0 else f"{name}:{node}"] = outputs[0] if len(outputs) == 1 else list(outputs)
    return out


def trace_layer(model, x: Any, layer: str | None = None):
    """The :class:`refgru.Trace` of the GRU ``layer`` as it runs inside ``model`` on ``x`` (see the module docstring).

    The model is run once, as ``predict`` runs it in one batch; the carried state of stateful GRUs is left
    as it was before the call.
    """
    from ..teach.trace import trace

    label, gru_layer = find_gru(model, layer)
    seen: list[tuple] = []
    original = gru_layer.run

    def recording_run(inp, mask, initial_state):
        if initial_state is None and getattr(gru_layer, "stateful", False) and gru_layer.state is not None:
            initial_state = gru_layer.state
        seen.append((inp, mask if getattr(gru_layer, "uses_mask", True) else None, initial_state))
        return original(inp, mask, initial_state)

    states = {n: getattr(g, "state", None) for n, g in gru_objects(model).items()}
    gru_layer.run = recording_run
    try:
        with unexpected("x"):
            run_values(model, x)
    finally:
        del gru_layer.run
        for n, g in gru_objects(model).items():
            if hasattr(g, "state"):
                g.state = states[n]
    if not seen:
        raise RefgruError(f"layer: expected a GRU the model's outputs use, got {escape(label)}, which they do not")
    inp, mask, h0 = seen[0]
    dtype = getattr(gru_layer, "dtype", None) or np.float32
    options = {k: v for k, v in gru_layer.options().items() if k not in ("units", "use_bias", "stateful")}
    return trace(as_float(inp, dtype), gru_layer.w, mask=mask,
                 initial_state=None if h0 is None else as_float(h0, dtype), **options)


__all__ = ["find_gru", "gru_objects", "layer_outputs", "run_values", "trace_layer"]
