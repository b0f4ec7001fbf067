"""``GRUWeights``: the three arrays of ``GRU.get_weights()``, with every slice named.

Keras stores a GRU in three arrays whose column blocks are in the gate order ``[z, r, h]``::

    kernel            (input_dim, 3u) = [ W_z | W_r | W_h ]     input weights
    recurrent_kernel  (u, 3u)         = [ U_z | U_r | U_h ]     recurrent weights
    bias, reset_after=True:  (2, 3u)  row 0 = [ b_z | b_r | b_h ]      input bias
                                      row 1 = [ rb_z | rb_r | rb_h ]   recurrent bias
    bias, reset_after=False: (3u,)    = [ b_z | b_r | b_h ]
    no bias (use_bias=False): the list has two arrays

A ``(2, 3u)`` bias exists only with ``reset_after=True``, and then both rows are used in every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import error
from .checks import as_numeric

#: Keras gate order of the column blocks: update gate z, reset gate r, candidate h.
GATES = ("z", "r", "h")
#: The four arrays a GRU's named slices come from: kernel W, recurrent kernel U, input bias b, recurrent bias rb.
SLICE_PREFIXES = ("W", "U", "b", "rb")


def gate_block(array: np.ndarray | None, gate: str) -> np.ndarray | None:
    """The column block of ``gate`` in a ``(..., 3u)`` array, as a view (``None`` stays ``None``)."""
    if array is None:
        return None
    u = array.shape[-1] // 3
    i = GATES.index(gate)
    return array[..., i * u : (i + 1) * u]


class NamedSlices:
    """The twelve named slices ``W_z ... rb_h`` as properties, for any class that has the four ``(..., 3u)``
    arrays named in :attr:`SLICE_SOURCES`. A prefix (``"d"`` for gradients) goes in front of each name.

    Subclasses set ``SLICE_SOURCES = {"W": "kernel", "U": "recurrent_kernel", "b": "input_bias",
    "rb": "recurrent_bias"}`` (attribute names) and ``SLICE_PREFIX``.
    """

    __slots__ = ()
    SLICE_SOURCES: dict[str, str] = {}
    SLICE_PREFIX = ""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for part in SLICE_PREFIXES:
            for gate in GATES:
                setattr(cls, f"{cls.SLICE_PREFIX}{part}_{gate}", _slice_property(cls.SLICE_SOURCES[part], gate))

    def slices(self) -> dict[str, np.ndarray | None]:
        """All twelve named slices, in the order W, U, b, rb and z, r, h within each."""
        return {name: getattr(self, name) for name in slice_names(self.SLICE_PREFIX)}


def slice_names(prefix: str = "") -> list[str]:
    """``["W_z", "W_r", ..., "rb_h"]`` with ``prefix`` in front of each."""
    return [f"{prefix}{p}_{g}" for p in SLICE_PREFIXES for g in GATES]


_SHAPES = {"kernel": "(input_dim, u)", "recurrent_kernel": "(u, u)"}


def _slice_property(source: str, gate: str) -> property:
    shape = _SHAPES.get(source.removeprefix("d_"), "(u,), or None")
    return property(lambda self: gate_block(getattr(self, source), gate),
                    doc=f"``{shape}``: the {gate} block of ``{source}``.")


def _as_float(name: str, value: object) -> np.ndarray:
    array = as_numeric(name, value, "a floating-point array", kinds="f")
    array = array.copy()
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class GRUWeights(NamedSlices):
    """The weights of one Keras GRU layer, with named slices.

    Arguments:
        kernel: ``(input_dim, 3u)``, the column blocks ``[W_z | W_r | W_h]``.
        recurrent_kernel: ``(u, 3u)``, the column blocks ``[U_z | U_r | U_h]``.
        bias: ``(2, 3u)`` (``reset_after=True``: input row, recurrent row), ``(3u,)``
            (``reset_after=False``), or ``None`` (``use_bias=False``).
        reset_after: ``None`` infers it from the bias: ``(2, 3u)`` means True, ``(3u,)`` means False,
            no bias means True (the Keras default). An explicit value must agree with the bias.

    Attributes (all views of the arrays above):
        W_z, W_r, W_h: ``(input_dim, u)`` input weights of the update gate, reset gate and candidate.
        U_z, U_r, U_h: ``(u, u)`` recurrent weights of the same.
        b_z, b_r, b_h: ``(u,)`` input bias, or ``None`` without a bias.
        rb_z, rb_r, rb_h: ``(u,)`` recurrent bias (row 1 of a ``(2, 3u)`` bias), or ``None``
            unless ``reset_after`` and ``use_bias``.
    """

    SLICE_SOURCES = {"W": "kernel", "U": "recurrent_kernel", "b": "input_bias", "rb": "recurrent_bias"}

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray | None = None
    reset_after: bool | None = None

    def __post_init__(self) -> None:
        kernel = _as_float("kernel", self.kernel)
        recurrent = _as_float("recurrent_kernel", self.recurrent_kernel)
        if kernel.ndim != 2 or kernel.shape[1] % 3 or kernel.shape[1] == 0:
            raise error("kernel", "shape (input_dim, 3 * units) with units >= 1", kernel)
        u = kernel.shape[1] // 3
        if recurrent.shape != (u, 3 * u):
            raise error("recurrent_kernel", f"shape ({u}, {3 * u}) to match kernel {kernel.shape}", recurrent)
        if recurrent.dtype != kernel.dtype:
            raise error("recurrent_kernel", f"dtype {kernel.dtype} like kernel", recurrent)
        bias = None if self.bias is None else _as_float("bias", self.bias)
        if bias is not None and bias.dtype != kernel.dtype:
            raise error("bias", f"dtype {kernel.dtype} like kernel", bias)
        if bias is not None and bias.shape not in ((2, 3 * u), (3 * u,)):
            raise error("bias", f"shape (2, {3 * u}) (reset_after=True) or ({3 * u},) (reset_after=False) "
                        f"for units={u}", bias)
        implied = True if bias is None else bias.ndim == 2
        reset_after = self.reset_after
        if reset_after is not None and not isinstance(reset_after, (bool, np.bool_)):
            raise error("reset_after", "True, False or None", reset_after)
        if reset_after is not None and bias is not None and bool(reset_after) != implied:
            raise error("reset_after", f"{implied} for a bias of shape {bias.shape}", bool(reset_after))
        object.__setattr__(self, "kernel", kernel)
        object.__setattr__(self, "recurrent_kernel", recurrent)
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "reset_after", implied if reset_after is None else bool(reset_after))

    @classmethod
    def from_keras(cls, weights: Sequence[np.ndarray] | "GRUWeights", reset_after: bool | None = None) -> "GRUWeights":
        """Build from the list ``GRU.get_weights()`` returns: ``[kernel, recurrent_kernel(, bias)]``."""
        if isinstance(weights, GRUWeights):
            if reset_after is not None and bool(reset_after) != weights.reset_after:
                raise error("reset_after", f"{weights.reset_after} to match the given GRUWeights", reset_after)
            return weights
        if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)):
            raise error("weights", "the list GRU.get_weights() returns ([kernel, recurrent_kernel, bias] or "
                        "[kernel, recurrent_kernel]) or a GRUWeights", weights)
        if len(weights) not in (2, 3):
            raise error("weights", "2 arrays (use_bias=False) or 3 arrays (kernel, recurrent_kernel, bias)",
                        got=f"{len(weights)} arrays")
        bias = weights[2] if len(weights) == 3 else None
        return cls(weights[0], weights[1], bias, reset_after)

    def to_keras(self) -> list[np.ndarray]:
        """The list for ``GRU.set_weights()``: copies bit-identical to the arrays given."""
        arrays = [self.kernel, self.recurrent_kernel] + ([] if self.bias is None else [self.bias])
        return [a.copy() for a in arrays]

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

    @property
    def input_bias(self) -> np.ndarray | None:
        """``(3u,)`` = ``[b_z | b_r | b_h]``, added to ``x @ kernel``; ``None`` without a bias."""
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    @property
    def recurrent_bias(self) -> np.ndarray | None:
        """``(3u,)`` = ``[rb_z | rb_r | rb_h]``, added to ``h_tm1 @ recurrent_kernel``; only with ``reset_after``."""
        if self.bias is None or not self.reset_after:
            return None
        return self.bias[1]

    def __repr__(self) -> str:
        bias = "None" if self.bias is None else str(self.bias.shape)
        return (f"GRUWeights(units={self.units}, input_dim={self.input_dim}, reset_after={self.reset_after}, "
                f"use_bias={self.use_bias}, bias={bias}, dtype={self.dtype})")

    def to_torch(self, **options) -> dict[str, np.ndarray]:
        """``torch.nn.GRU`` parameters ``weight_ih_l0 (3u, input_dim)``, ...; see :func:`refgru.convert.to_torch`."""
        from .. import convert
        return convert.to_torch(self, **options)

    @classmethod
    def from_torch(cls, module_or_state_dict, layer: int = 0, direction: str = "forward", **options) -> "GRUWeights":
        """One layer of a ``torch.nn.GRU`` or its state dict; see :func:`refgru.convert.from_torch`."""
        from .. import convert
        return convert.from_torch(module_or_state_dict, layer, direction, **options)

    def to_onnx(self) -> dict[str, object]:
        """ONNX ``GRU`` inputs ``W (1, 3u, input_dim)``, ``R``, ``B``, ``linear_before_reset``; see
        :func:`refgru.convert.to_onnx`."""
        from .. import convert
        return convert.to_onnx(self)

    @classmethod
    def from_onnx(cls, W, R, B=None, linear_before_reset: int = 1, direction: str | None = None):
        """From ONNX ``GRU`` inputs (a list of two for a bidirectional node); see :func:`refgru.convert.from_onnx`."""
        from .. import convert
        return convert.from_onnx(W, R, B, linear_before_reset, direction)


def as_weights(weights: Sequence[np.ndarray] | GRUWeights, reset_after: bool | None = None) -> GRUWeights:
    """Accept a ``get_weights()`` list or a ``GRUWeights``; see :meth:`GRUWeights.from_keras`."""
    return GRUWeights.from_keras(weights, reset_after)


__all__ = ["GATES", "GRUWeights", "NamedSlices", "as_weights", "gate_block", "slice_names"]
