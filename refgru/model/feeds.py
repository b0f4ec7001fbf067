"""The inputs of a :class:`refgru.model.Model` call: ``x`` as one checked array per input layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.checks import as_numeric
from ..errors import RefgruError, describe


def model_feeds(model, x: Any) -> list[np.ndarray]:
    """``x`` (an array, a list of arrays, or a dict by input name) as one numeric array per input of ``model``,
    in ``model.input_names`` order, each with a batch axis of the same, non-zero size."""
    names = model.input_names
    if isinstance(x, dict):
        if any(name not in x for name in names):
            raise RefgruError(f"x: expected a dict with keys {names}, got keys {sorted(x)}")
        x = [x[name] for name in names]
    elif len(names) == 1:
        single = isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(x[0], np.ndarray)
        x = list(x) if single else [x]
    if not isinstance(x, (list, tuple)) or len(x) != len(names):
        raise RefgruError(f"x: expected {len(names)} input arrays for inputs {names}, got {describe(x)}")
    expected = "a numeric array with a batch axis"
    feeds = [as_numeric(f"x[{name!r}]", v, expected, finite=False) for name, v in zip(names, x, strict=True)]
    for name, f in zip(names, feeds, strict=True):
        if f.ndim == 0:
            raise RefgruError(f"x[{name!r}]: expected {expected}, got {describe(f)}")
        if f.shape[0] == 0:  # Keras's predict fails on an empty batch too (tf-keras: "non-empty")
            raise RefgruError(f"x[{name!r}]: expected at least one row (batch >= 1), got {describe(f)}")
    if len({f.shape[0] for f in feeds}) > 1:
        raise RefgruError(f"x: expected the same batch size for every input, got {[f.shape[0] for f in feeds]}")
    if model.keras_version == 2 or model.kind != "Sequential":
        feeds = [conform(model, name, f) for name, f in zip(names, feeds, strict=True)]
    return feeds


def conform(model, name: str, x: np.ndarray) -> np.ndarray:
    """``x`` checked against the shape its InputLayer declares, where Keras checks it.

    Keras 3 functional models and every tf-keras model refuse an input whose axes (after the batch
    axis) differ from the declared ones, ``None`` axes excepted; both accept, as Keras's
    ``allow_last_axis_squeeze``, one trailing axis of size 1 more or fewer. A Keras 3
    ``Sequential`` model computes on any length its layers accept (the caller skips this check).
    """
    declared = getattr(model._built[name], "shape", None)
    if not declared:
        return x
    want = tuple(declared[1:])
    if x.ndim == len(want) + 2 and x.shape[-1] == 1:
        x = x[..., 0]
    elif x.ndim == len(want) and want and want[-1] == 1:
        x = x[..., None]
    if x.ndim != len(want) + 1 or any(d is not None and d != n for d, n in zip(want, x.shape[1:], strict=True)):
        shown = "(batch, " + ", ".join("None" if d is None else str(d) for d in want) + ")"
        raise RefgruError(f"x[{name!r}]: expected shape {shown}, as the model's input declares (Keras "
                          f"{model.keras_version} refuses another shape in a {model.kind} model), got {describe(x)}")
    return x


__all__ = ["conform", "model_feeds"]
