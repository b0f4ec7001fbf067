"""What a recurrent layer's config says about its arrays, before anything is built.

- :func:`cell_specs`: the cells of an ``RNN`` config (``cell`` is one cell, a ``StackedRNNCells``, or
  a list of cells), each ``{"class_name", "config"}``;
- :func:`weight_count`: how many arrays ``get_weights()`` returns for a layer spec (what
  ``Bidirectional`` needs to split its arrays between its halves);
- :func:`var_groups`: where a ``.keras`` file keeps them, in ``get_weights()`` order. A single cell's
  are under ``cell/vars``; stacked cells' under ``cell/cells/<snake_case(class)>[_<n>]/vars``, numbered
  per class within the stack (``gru_cell``, ``gru_cell_1``, ``lstm_cell``).
"""

from __future__ import annotations

from ..errors import RefgruError, describe
from .registry import where

#: The cell classes an ``RNN`` may wrap, with their snake_case names in a ``.keras`` file.
CELLS = {"GRUCell": "gru_cell", "LSTMCell": "lstm_cell", "SimpleRNNCell": "simple_rnn_cell"}
#: Recurrent layer classes whose arrays are ``[kernel, recurrent_kernel(, bias)]`` (the bias by ``use_bias``).
LAYERS = ("GRU", "LSTM", "SimpleRNN")
#: Legacy cuDNN layers: always three arrays.
CUDNN = ("CuDNNGRU", "CuDNNLSTM")


def cell_specs(cfg: dict) -> list[dict]:
    """The cells of an ``RNN`` config, in order; each a ``{"class_name", "config"}`` dict of a known cell."""
    cell = cfg.get("cell")
    if isinstance(cell, dict) and cell.get("class_name") == "StackedRNNCells":
        cell = (cell.get("config") or {}).get("cells")
    cells = cell if isinstance(cell, list) else [cell]
    for spec in cells:
        name = spec.get("class_name") if isinstance(spec, dict) else None
        if name not in CELLS or not isinstance(spec.get("config"), dict):
            raise RefgruError(f"{where(cfg, 'RNN')} cell: expected {', '.join(CELLS)} or StackedRNNCells of them, "
                              f"got {describe(name if name is not None else spec)}")
    if not cells:
        raise RefgruError(f"{where(cfg, 'RNN')} cell: expected at least one cell, got an empty list")
    return cells


def _array_count(cfg: dict) -> int:
    return 3 if cfg.get("use_bias", True) else 2


def weight_count(spec: dict, owner: dict) -> int:
    """The number of arrays of the recurrent layer ``spec`` (``GRU``, ``LSTM``, ``SimpleRNN``, cuDNN, ``RNN``)
    that the ``Bidirectional`` config ``owner`` wraps."""
    class_name, cfg = spec.get("class_name"), spec.get("config") or {}
    if class_name in CUDNN:
        return 3
    if class_name in LAYERS:
        return _array_count(cfg)
    if class_name == "RNN":
        return sum(_array_count(cell["config"]) for cell in cell_specs(cfg))
    raise RefgruError(f"{where(owner, 'Bidirectional')} layer: expected a recurrent layer ({', '.join(LAYERS + CUDNN)} "
                      f"or RNN), got {describe(class_name)}")


def rnn_var_groups(cfg: dict) -> tuple[str, ...]:
    """The ``.keras`` groups of an ``RNN`` layer config's arrays (see the module docstring)."""
    cell = cfg.get("cell")
    if not (isinstance(cell, list) or (isinstance(cell, dict) and cell.get("class_name") == "StackedRNNCells")):
        return ("cell/vars",)
    groups, counts = [], {}
    for spec in cell_specs(cfg):
        base = CELLS[spec["class_name"]]
        n = counts[base] = counts.get(base, -1) + 1
        groups.append(f"cell/cells/{base}" + (f"_{n}" if n else "") + "/vars")
    return tuple(groups)


def var_groups(spec: dict) -> tuple[str, ...]:
    """The ``.keras`` groups of a wrapped recurrent layer ``spec`` (a Bidirectional's half)."""
    if spec.get("class_name") == "RNN":
        return rnn_var_groups(spec.get("config") or {})
    return ("cell/vars",)


def bidirectional_var_groups(cfg: dict) -> tuple[str, ...]:
    """The ``.keras`` groups of a ``Bidirectional`` config: its forward, then its backward layer's."""
    layer = cfg.get("layer") or {}
    backward = cfg.get("backward_layer") or layer
    return (tuple(f"forward_layer/{g}" for g in var_groups(layer))
            + tuple(f"backward_layer/{g}" for g in var_groups(backward)))


__all__ = ["CELLS", "bidirectional_var_groups", "cell_specs", "rnn_var_groups", "var_groups", "weight_count"]
