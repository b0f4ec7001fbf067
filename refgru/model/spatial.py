"""Sliding windows for the convolution and pooling layers: padding amounts and an im2col view.

Inputs are channels-last ``(B, *S, C)`` with ``n`` spatial axes; ``channels_first`` layers move the
channel axis last first and back after. Window sizes follow TensorFlow's (Keras's) rules: ``valid`` pads
nothing, ``causal`` pads ``(k - 1) * d`` before, and ``same`` pads
``max((ceil(L / s) - 1) * s + (k - 1) * d + 1 - L, 0)`` in total, the smaller half before.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import RefgruError


def to_last(x: np.ndarray, channels_first: bool) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if channels_first else x


def from_last(y: np.ndarray, channels_first: bool) -> np.ndarray:
    return np.moveaxis(y, -1, 1) if channels_first else y


def pad_widths(sizes, kernel, strides, dilation, padding) -> list[tuple[int, int]]:
    """``(before, after)`` per spatial axis of sizes ``sizes``."""
    widths = []
    for size, k, s, d in zip(sizes, kernel, strides, dilation, strict=True):
        span = (k - 1) * d + 1
        if padding == "valid":
            widths.append((0, 0))
        elif padding == "causal":
            widths.append((span - 1, 0))
        else:
            total = max((-(-size // s) - 1) * s + span - size, 0)
            widths.append((total // 2, total - total // 2))
    return widths


def windows(x: np.ndarray, kernel, strides, dilation, padding, fill=0.0) -> np.ndarray:
    """``(B, *P, C, *kernel)``: the input cells under each window (a strided view, copied only if padded)."""
    n = len(kernel)
    if x.ndim != n + 2:
        raise RefgruError(f"input: expected an array of rank {n + 2} (batch, {n} spatial axes, channels), "
                          f"got shape {x.shape}")
    widths = pad_widths(x.shape[1:1 + n], kernel, strides, dilation, padding)
    if any(w != (0, 0) for w in widths):
        x = np.pad(x, [(0, 0), *widths, (0, 0)], constant_values=fill)
    spans = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=True))
    if any(size < span for size, span in zip(x.shape[1:1 + n], spans, strict=True)):
        raise RefgruError(f"input: expected spatial sizes of at least {spans} for the window, got shape {x.shape}")
    view = sliding_window_view(x, spans, axis=tuple(range(1, n + 1)))
    step = tuple(slice(None, None, s) for s in strides) + (slice(None),) + tuple(slice(None, None, d) for d in dilation)
    return view[(slice(None),) + step]


def convolve(x: np.ndarray, kernel: np.ndarray, strides, dilation, padding, groups: int) -> np.ndarray:
    """Keras's ``conv``: ``x (B, *S, C)``, ``kernel (*K, C / groups, F)`` -> ``(B, *P, F)``, one matmul.

    Group ``g`` reads channels ``g * C/groups ...`` and writes filters ``g * F/groups ...``, as TensorFlow does.
    """
    n = kernel.ndim - 2
    k_shape, c, f = kernel.shape[:n], kernel.shape[n], kernel.shape[-1]
    if x.shape[-1] != c * groups:
        raise RefgruError(f"input: expected {c * groups} channels for the kernel, got shape {x.shape}")
    win = windows(x, k_shape, strides, dilation, padding)
    batch, out = win.shape[0], win.shape[1:1 + n]
    cols = win.reshape(batch, *out, groups, c * int(np.prod(k_shape)))
    cols = np.moveaxis(cols.reshape(-1, groups, cols.shape[-1]), 1, 0)         # (g, M, c*K)
    ker = kernel.reshape(*k_shape, c, groups, f // groups)
    ker = np.moveaxis(ker, (n, n + 1), (1, 0)).reshape(groups, c * int(np.prod(k_shape)), f // groups)
    y = np.matmul(cols, ker)                                                   # (g, M, f/g)
    return np.moveaxis(y, 0, 1).reshape(batch, *out, f)
