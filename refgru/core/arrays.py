"""``KerasArrays``: the three arrays of one Keras GRU layer, checked; the record every converter takes and returns.

:class:`refgru.GRUWeights` adds the twelve named slices and the constructors on top of it. NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import error
from .checks import check_gru_arrays


class LayerArrays:
    """What any recurrent layer's ``kernel (F, G*u)``, ``recurrent_kernel (u, G*u)`` and ``bias`` tell about it:
    shared by :class:`KerasArrays` (and so :class:`refgru.GRUWeights`) and the LSTM/SimpleRNN weights."""

    __slots__ = ()

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]

    @property
    def input_dim(self) -> int:
        return self.kernel.shape[0]

    @property
    def use_bias(self) -> bool:
        return self.bias is not None

    @property
    def dtype(self) -> np.dtype:
        return self.kernel.dtype

    def to_keras(self) -> list[np.ndarray]:
        """The list for ``set_weights()``: copies bit-identical to the arrays held."""
        return [a.copy() for a in (self.kernel, self.recurrent_kernel, self.bias) if a is not None]


@dataclass(frozen=True, eq=False)
class KerasArrays(LayerArrays):
    """The arrays of one Keras GRU layer, checked (read-only copies); what every converter takes and returns.

    ``kernel (F, 3u)``, ``recurrent_kernel (u, 3u)``, ``bias`` ``(2, 3u)`` / ``(3u,)`` / ``None``, and
    ``reset_after`` (``None``: inferred from the bias, as ``GRUWeights`` does).
    """

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray | None = None
    reset_after: bool | None = None

    def __post_init__(self) -> None:
        checked = check_gru_arrays(self.kernel, self.recurrent_kernel, self.bias, self.reset_after)
        for name, value in zip(("kernel", "recurrent_kernel", "bias", "reset_after"), checked, strict=True):
            object.__setattr__(self, name, value)

    @classmethod
    def of(cls, weights: object) -> "KerasArrays":
        """From a ``GRUWeights`` (or anything with these four attributes) or a ``get_weights()`` list."""
        if isinstance(weights, KerasArrays):
            return weights
        if all(hasattr(weights, name) for name in ("kernel", "recurrent_kernel", "bias", "reset_after")):
            return cls(weights.kernel, weights.recurrent_kernel, weights.bias, weights.reset_after)
        if not is_keras_list(weights):
            raise error("weights", "the list GRU.get_weights() returns ([kernel, recurrent_kernel, bias] or "
                        "[kernel, recurrent_kernel]) or a GRUWeights", weights)
        return cls(*weights)

    @property
    def input_bias(self) -> np.ndarray | None:
        """``(3u,)`` = ``[b_z | b_r | b_h]``; ``None`` without a bias."""
        return None if self.bias is None else self.bias[0] if self.reset_after else self.bias

    @property
    def recurrent_bias(self) -> np.ndarray | None:
        """``(3u,)`` = ``[rb_z | rb_r | rb_h]``; only with ``reset_after`` and a bias."""
        return self.bias[1] if self.bias is not None and self.reset_after else None


    def __repr__(self) -> str:
        bias = "None" if self.bias is None else str(self.bias.shape)
        return (f"KerasArrays(units={self.units}, input_dim={self.kernel.shape[0]}, reset_after={self.reset_after}, "
                f"bias={bias}, dtype={self.dtype})")


def is_keras_list(weights: object) -> bool:
    """Whether ``weights`` is one ``get_weights()`` list: two or three arrays (not a list of layers)."""
    arrays = isinstance(weights, (list, tuple)) and all(isinstance(a, np.ndarray) for a in weights)
    return arrays and len(weights) in (2, 3)


__all__ = ["KerasArrays", "LayerArrays", "is_keras_list"]
