"""Reading the config options of the non-GRU layers: one function per kind of value, one error wording.

Every reader takes ``(cfg, class_name, key, ...)`` and returns the value Keras would use, or raises a
one-line :class:`~refgru.errors.RefgruError` naming the layer, the key, what was expected and what
the file holds. A key Keras always saves is read with no default, so a file without it is refused.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..errors import describe, error
from .registry import check_weights, where

MISSING = object()


def shown(value: Any) -> str:
    """``describe(value)``, but a short list is shown as written (``[1, 0]``), as the file holds it."""
    if isinstance(value, (list, tuple)) and len(repr(value)) <= 60:
        return f"{list(value)!r} ({type(value).__name__})"
    return describe(value)


def bad(argument: str, expected: str, received: Any = None, *, got: str | None = None):
    """:func:`refgru.errors.error` with short lists shown by value."""
    return error(argument, expected, got=shown(received) if got is None else got)


def raw(cfg: dict, cls: str, key: str, default: Any = MISSING) -> Any:
    """``cfg[key]``, or ``default``; a missing key without a default is an error."""
    if key in cfg:
        return cfg[key]
    if default is MISSING:
        raise bad(f"{where(cfg, cls)} {key}", f"the {key!r} key that Keras saves for {cls}", got="no such key")
    return default


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def ints(cfg: dict, cls: str, key: str, n: int, default: Any = MISSING, minimum: int = 1) -> tuple[int, ...]:
    """An int or a list of ``n`` ints (each ``>= minimum``), as ``kernel_size``, ``strides``..."""
    value = raw(cfg, cls, key, default)
    items = [value] * n if _is_int(value) else value
    if not isinstance(items, (list, tuple)) or len(items) != n or not all(_is_int(v) and v >= minimum for v in items):
        raise bad(f"{where(cfg, cls)} {key}", f"an int >= {minimum} or a list of {n} of them", value)
    return tuple(int(v) for v in items)


def pairs(cfg: dict, cls: str, key: str, n: int) -> tuple[tuple[int, int], ...]:
    """``n`` ``(before, after)`` pairs of ints >= 0 from an int, ``n`` ints or ``n`` pairs (padding, cropping)."""
    value = raw(cfg, cls, key)
    items = [value] * n if _is_int(value) else value
    if n == 1 and isinstance(items, (list, tuple)) and len(items) == 2 and all(_is_int(v) for v in items):
        items = [items]
    out = []
    if isinstance(items, (list, tuple)) and len(items) == n:
        for item in items:
            item = (item, item) if _is_int(item) else item
            if isinstance(item, (list, tuple)) and len(item) == 2 and all(_is_int(v) and v >= 0 for v in item):
                out.append((int(item[0]), int(item[1])))
    if len(out) != n:
        raise bad(f"{where(cfg, cls)} {key}", f"an int >= 0, or {n} (before, after) pairs of them", value)
    return tuple(out)


def choice(cfg: dict, cls: str, key: str, options: Sequence[Any], default: Any = MISSING) -> Any:
    """One of ``options`` (strings compared in lower case, as Keras standardizes them)."""
    value = raw(cfg, cls, key, default)
    found = value.lower() if isinstance(value, str) else value
    if found not in options:
        raise bad(f"{where(cfg, cls)} {key}", f"one of {', '.join(map(repr, options))}", value)
    return found


def flag(cfg: dict, cls: str, key: str, default: Any = MISSING) -> bool:
    value = raw(cfg, cls, key, default)
    if not isinstance(value, (bool, np.bool_)):
        raise bad(f"{where(cfg, cls)} {key}", "true or false", value)
    return bool(value)


def bool_key(cfg: dict, key: str, default: bool = False) -> bool:
    """``cfg[key]`` as a bool (``default`` when absent): the flags of recurrent and attention layers."""
    value = cfg.get(key, default)
    if not isinstance(value, (bool, np.bool_)):
        raise bad(f"{where(cfg)} {key}", "true or false", value)
    return bool(value)


def number(cfg: dict, cls: str, key: str, default: Any = MISSING, *, minimum: float | None = None,
           allow_none: bool = False) -> float | None:
    """A finite float (``>= minimum`` if given), or None where Keras allows it (``max_value``)."""
    value = raw(cfg, cls, key, default)
    if value is None and allow_none:
        return None
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise bad(f"{where(cfg, cls)} {key}", f"a finite number{bound}" + (" or null" if allow_none else ""), value)
    return float(value)


def channels_first(cfg: dict, cls: str) -> bool:
    """``data_format``: ``channels_last`` (also when null: Keras's default image data format) or ``channels_first``."""
    return choice(cfg, cls, "data_format", ("channels_last", "channels_first", None), None) == "channels_first"


def axis_list(cfg: dict, cls: str, key: str, default: Any = MISSING) -> tuple[int, ...]:
    """An int or a non-empty list of distinct ints (``axis`` of the normalization layers, ``Softmax``)."""
    value = raw(cfg, cls, key, default)
    items = [value] if _is_int(value) else value
    if not isinstance(items, (list, tuple)) or not items or not all(_is_int(v) for v in items) \
            or len(set(items)) != len(items):
        raise bad(f"{where(cfg, cls)} {key}", "an int or a list of distinct ints", value)
    return tuple(int(v) for v in items)


def weights_of_some_rank(cfg: dict, cls: str, weights: list, shape_of_rank: Callable[[int], list | None],
                         ranks: range = range(1, 9)) -> list[np.ndarray]:
    """``check_weights`` for arrays whose rank follows the (unsaved) input rank, e.g. PReLU's ``alpha``.

    ``shape_of_rank(r)`` gives the ``[(name, shape)]`` list for rank ``r`` (None if impossible); the first
    rank the arrays fit is used. Nothing is read before a shape fits.
    """
    tried = []
    for r in ranks:
        expected = shape_of_rank(r)
        if expected is None:
            continue
        tried.append(expected)
        try:
            return check_weights(cfg, cls, weights, expected)
        except ValueError:
            continue
    return check_weights(cfg, cls, weights, tried[0] if tried else [])  # raises, naming the first candidate
