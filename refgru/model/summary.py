"""The text of ``Model.summary()``: one row per layer with its parameters, inputs and options."""

from __future__ import annotations

from typing import Any

from .registry import escape

RULE_WIDTH = 100


def _inputs(entry: Any) -> str:
    """The layers whose outputs ``entry`` reads, ``name[i]`` for an output other than the first."""
    names, stack = [], [call.args for call in reversed(entry.calls)]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif hasattr(item, "layer"):
            names.append(item.layer if item.tensor == 0 else f"{item.layer}[{item.tensor}]")
    return ", ".join(dict.fromkeys(names))


def summary_text(model: Any) -> str:
    """Rows ``name (Class) | params | inputs | options``, then the totals and the model's inputs and outputs."""
    rows = [("Layer (type)", "Params", "Inputs", "Options")]
    stack = [(model, entry, "") for entry in reversed(model.graph.entries)]
    while stack:  # nested models' layers follow their row, indented, named by path
        owner, entry, prefix = stack.pop()
        if not entry.op:
            layer = owner.get_layer(entry.name)
            name = f"{'  ' * prefix.count('/')}{prefix}{layer.name} ({escape(layer.class_name, 60)[1:-1]})"
            rows.append((name, str(layer.param_count), _inputs(entry), layer.describe()))
            inner = getattr(layer, "inner", None)
            if entry.graph is not None and inner is not None:
                stack += [(inner, e, f"{prefix}{entry.name}/") for e in reversed(entry.graph.entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    rule = "-" * min(RULE_WIDTH, sum(widths) + 6 + max(len(row[3]) for row in rows))
    lines = [f"Model: {model.name!r} ({model.kind}), saved by Keras {model.version_string or model.keras_version}: "
             f"Keras {model.keras_version} semantics"]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
        if i == 0:
            lines.append(rule)
    lines += [rule, f"Total params: {sum(layer.param_count for layer in model.layers)}",
              f"Inputs: {', '.join(model.input_names)}; outputs: {', '.join(model.output_names)}"]
    if model.problems:
        lines.append(f"NOT SUPPORTED: {len(model.problems)} layers (marked above); running the model raises: "
                     f"{model.unusable}")
    return "\n".join(lines)
