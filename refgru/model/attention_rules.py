"""The rules the attention layers share (:mod:`refgru.model.layers_attention`, :mod:`refgru.model.attention_mha`):
config values checked as data, call arguments checked by shape, and the masks and softmax they combine.

A mask here is a bool array that is True where a score is kept; ``None`` means "keep everything", so
:func:`mask_and` treats it as the identity. :func:`causal_mask` is the ``use_causal_mask`` rule: query step
``i`` attends to value steps ``j <= i``.
"""

from __future__ import annotations

import numpy as np

from ..errors import RefgruError, describe
from .registry import where


def shown(value) -> str:
    """Short lists by value (``[2]``), anything else as :func:`describe` words it."""
    return repr(value) if isinstance(value, list) and len(repr(value)) <= 40 else describe(value)


def softmax(x: np.ndarray) -> np.ndarray:
    """The softmax over the last axis, computed after subtracting each row's maximum."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def causal_mask(tq: int, tv: int) -> np.ndarray:
    """``(1, Tq, Tv)``: query step ``i`` may attend to value steps ``j <= i``."""
    return np.tril(np.ones((1, tq, tv), bool))


def mask_and(a, b):
    """``a & b``, where ``None`` (no mask) keeps everything."""
    return b if a is None else a if b is None else a & b



def dropout_rate(cfg):
    """The config ``dropout`` as a float, which must be a number in ``[0, 1)`` (inference applies no dropout)."""
    value = cfg.get("dropout", 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise RefgruError(f"{where(cfg)} dropout: expected a number in [0, 1), got {describe(value)}")
    return float(value)


def positive_int(cfg, key, default=None):
    """The config integer ``key``, at least 1."""
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RefgruError(f"{where(cfg)} {key}: expected a positive int, got {describe(value)}")
    return value


def checked_array(layer, name, x, shape):
    """``x`` as an array of ``shape`` (``None`` matches any size), or a RefgruError naming the call argument."""
    x = np.asarray(x)
    if x.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, x.shape, strict=True)):
        wanted = ", ".join("?" if s is None else str(s) for s in shape)
        raise RefgruError(f"{where(layer.config, layer.class_name)} {name}: expected an array of shape ({wanted}), "
                          f"got {describe(x)}")
    return x


def checked_mask(layer, name, m, batch, steps):
    """The call argument ``m`` as a ``(batch, steps)`` bool mask, or ``None`` when it is ``None``."""
    return None if m is None else checked_array(layer, name, m, (batch, steps)).astype(bool)


__all__ = ["causal_mask", "checked_array", "checked_mask", "dropout_rate", "mask_and", "positive_int", "shown",
           "softmax"]
