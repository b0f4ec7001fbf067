"""The Keras 3 operation nodes that functional configs use to compute masks, in NumPy.

A Keras 3 functional model records mask computations as op nodes (module ``keras.src.ops.*``):
``Embedding(mask_zero=True)`` adds ``NotEqual(ids, 0)``, ``Masking`` adds ``NotEqual(x, 0.0)`` then
``Any(axis=-1)``, and merge layers add ``LogicalOr``, ``ExpandDims``, ``OnesLike``, ``Concatenate``...
Only the pure array operations in :data:`OPS` are accepted; any other op is refused.

Each entry is ``(arity, fn(config) -> function(*args))``; ``config`` holds the op's constructor arguments.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import RefgruError


def _axis(config: dict, default: Any = None):
    axis = config.get("axis", default)
    return tuple(axis) if isinstance(axis, list) else axis


def _dtype(config: dict):
    return None if config.get("dtype") is None else np.dtype(config["dtype"])


#: ``class_name -> (arity, fn(config) -> function(*args))``: how many positional arguments a call may pass,
#: and the NumPy function. Calls pass no keyword arguments (the loader checks both before building).
OPS: dict[str, tuple[int, Callable[[dict], Callable[..., np.ndarray]]]] = {
    "NotEqual": (2, lambda c: np.not_equal),
    "Equal": (2, lambda c: np.equal),
    "Any": (1, lambda c: lambda x: np.any(x, axis=_axis(c), keepdims=bool(c.get("keepdims", False)))),
    "All": (1, lambda c: lambda x: np.all(x, axis=_axis(c), keepdims=bool(c.get("keepdims", False)))),
    "LogicalOr": (2, lambda c: np.logical_or),
    "LogicalAnd": (2, lambda c: np.logical_and),
    "LogicalNot": (1, lambda c: np.logical_not),
    "ExpandDims": (1, lambda c: lambda x: np.expand_dims(x, _axis(c))),
    "Squeeze": (1, lambda c: lambda x: np.squeeze(x, axis=_axis(c))),
    "ZerosLike": (1, lambda c: lambda x: np.zeros_like(x, dtype=_dtype(c))),
    "OnesLike": (1, lambda c: lambda x: np.ones_like(x, dtype=_dtype(c))),
    "Concatenate": (1, lambda c: lambda xs: np.concatenate(xs, axis=_axis(c, 0))),
    "Cast": (1, lambda c: lambda x: np.asarray(x).astype(_dtype(c))),
    "ConvertToTensor": (1, lambda c: lambda x: np.asarray(x, dtype=_dtype(c))),  # Attention's compute_mask
}
#: ``class_name -> arity``, read from :data:`OPS`.
OP_ARITY = {name: arity for name, (arity, _) in OPS.items()}


def is_op(entry: dict) -> bool:
    """True for a Keras 3 operation node rather than a layer.

    ``.keras`` configs say so with the module ``keras.src.ops...``. Keras 3's legacy ``.h5`` configs
    drop modules; there an op is a class of :data:`OPS` whose config lacks the ``trainable`` key every
    layer config has (``Concatenate`` is both a layer and an op).
    """
    module = entry.get("module")
    if module is not None:
        return str(module).startswith("keras.src.ops")
    config = entry.get("config")
    return entry.get("class_name") in OPS and isinstance(config, dict) and "trainable" not in config


def build_op(class_name: str, config: dict, name: str) -> Callable[..., np.ndarray]:
    """The NumPy function of a Keras 3 op node, or a :class:`RefgruError` for an op not in :data:`OPS`."""
    if class_name not in OPS:
        raise RefgruError(f"op {name!r} ({class_name}): expected a mask operation ({', '.join(sorted(OPS))}), "
                          f"got unsupported op {class_name!r}")
    return OPS[class_name][1](config)
