"""What ``LSTMWeights`` and ``SimpleRNNWeights`` share: Keras's three arrays with ``G`` gate blocks each,
and the table-driven converters to and from PyTorch's ``nn.LSTM`` / ``nn.RNN``.

Keras keeps the gate blocks on the last axis, PyTorch on the first::

    framework  input weights           recurrent weights          biases
    Keras      kernel (F, G*u)         recurrent_kernel (u, G*u)  bias (G*u,) (or no bias)
    PyTorch    weight_ih_l0 (G*u, F)   weight_hh_l0 (G*u, u)      bias_ih_l0 (G*u,), bias_hh_l0 (G*u,)

Keras has one bias where PyTorch has two that it adds: :meth:`to_torch` writes the Keras bias as
``bias_ih`` and zeros as ``bias_hh``, and :meth:`from_torch` adds the two (exactly ``bias_ih`` when
``bias_hh`` is zero, so Keras -> torch -> Keras is bit-identical). Each subclass names its gates in
Keras's order (``GATES``) and gives the torch row order as a table (``TORCH_GATES``, pairs
``(torch name, Keras gate)``); :func:`reorder` moves blocks by those tables and nothing else is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping, Sequence

import numpy as np

from ..convert.torch import param_array, param_suffix
from ..errors import describe, error
from .arrays import LayerArrays
from .checks import as_numeric


def reorder(array: np.ndarray, source: Sequence[str], target: Sequence[str], axis: int = -1) -> np.ndarray:
    """Permute the ``len(source)`` equal blocks of ``array`` along ``axis`` from the gate order ``source`` to
    ``target`` (the same names in another order). Returns a new array, never a view."""
    u = array.shape[axis] // len(source)
    index = np.concatenate([np.arange(u) + source.index(gate) * u for gate in target])
    return np.take(array, index, axis=axis)


def _frozen(name: str, value: object) -> np.ndarray:
    array = as_numeric(name, value, "a floating-point array", kinds="f").copy()
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class BlockWeights(LayerArrays):
    """``kernel (F, G*u)``, ``recurrent_kernel (u, G*u)``, ``bias (G*u,)`` or ``None``, with ``G = len(GATES)``.

    Subclasses set ``LAYER`` (the Keras class name), ``TORCH_MODULE`` (its torch counterpart),
    ``GATES`` (Keras's block order), ``TORCH_GATES``
    (torch's row order as ``(torch name, Keras gate)`` pairs), ``TORCH_MODES`` (``module.mode`` values
    of the torch modules whose weights these are) and ``TORCH_ACTIVATIONS`` (argument -> the Keras
    activations torch can compute).
    """

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray | None = None

    LAYER: ClassVar[str] = ""
    TORCH_MODULE: ClassVar[str] = ""
    GATES: ClassVar[tuple[str, ...]] = ()
    TORCH_GATES: ClassVar[tuple[tuple[str, str], ...]] = ()
    TORCH_MODES: ClassVar[tuple[str, ...]] = ()
    TORCH_ACTIVATIONS: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __post_init__(self) -> None:
        g, blocks = len(self.GATES), "|".join(self.GATES)
        kernel = _frozen("kernel", self.kernel)
        recurrent = _frozen("recurrent_kernel", self.recurrent_kernel)
        if kernel.ndim != 2 or kernel.shape[1] % g or kernel.shape[1] == 0:
            raise error("kernel", f"shape (input_dim, {g} * units) with units >= 1 (blocks [{blocks}])", kernel)
        u = kernel.shape[1] // g
        if recurrent.shape != (u, g * u):
            raise error("recurrent_kernel", f"shape ({u}, {g * u}) to match kernel {kernel.shape}", recurrent)
        if recurrent.dtype != kernel.dtype:
            raise error("recurrent_kernel", f"dtype {kernel.dtype} like kernel", recurrent)
        bias = None if self.bias is None else _frozen("bias", self.bias)
        if bias is not None and bias.shape != (g * u,):
            raise error("bias", f"shape ({g * u},) for units={u}", bias)
        if bias is not None and bias.dtype != kernel.dtype:
            raise error("bias", f"dtype {kernel.dtype} like kernel", bias)
        object.__setattr__(self, "kernel", kernel)
        object.__setattr__(self, "recurrent_kernel", recurrent)
        object.__setattr__(self, "bias", bias)

    @classmethod
    def from_keras(cls, weights: Sequence[np.ndarray] | BlockWeights) -> BlockWeights:
        """Build from the list ``get_weights()`` returns: ``[kernel, recurrent_kernel(, bias)]``."""
        if isinstance(weights, cls):
            return weights
        if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)):
            raise error("weights", f"the list {cls.LAYER}.get_weights() returns ([kernel, recurrent_kernel, bias] "
                        f"or [kernel, recurrent_kernel]) or a {cls.__name__}", weights)
        if len(weights) not in (2, 3):
            raise error("weights", "2 arrays (use_bias=False) or 3 arrays (kernel, recurrent_kernel, bias)",
                        got=f"{len(weights)} arrays")
        return cls(weights[0], weights[1], weights[2] if len(weights) == 3 else None)

    def block(self, array: np.ndarray | None, gate: str) -> np.ndarray | None:
        """The column block of ``gate`` in ``kernel``, ``recurrent_kernel`` or ``bias``, as a read-only view."""
        if array is None:
            return None
        u, i = self.units, self.GATES.index(gate)
        return array[..., i * u : (i + 1) * u]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(units={self.units}, input_dim={self.input_dim}, "
                f"use_bias={self.use_bias}, dtype={self.dtype})")

    # ----------------------------------------------------------------------------------- PyTorch

    @classmethod
    def _torch_order(cls) -> tuple[str, ...]:
        return tuple(keras for _, keras in cls.TORCH_GATES)

    def _to_torch(self, activations: Mapping[str, object], layer: int, direction: str) -> dict[str, np.ndarray]:
        for argument, value in activations.items():
            allowed = self.TORCH_ACTIVATIONS[argument]
            if value not in allowed:
                raise error(argument, f"one of {list(allowed)}: the only {argument} {self.TORCH_MODULE} "
                            "computes", value)
        suffix = param_suffix(layer, direction)
        order = self._torch_order()

        def rows(array: np.ndarray) -> np.ndarray:  # Keras (..., G*u) -> torch (G*u, ...)
            return np.ascontiguousarray(reorder(np.moveaxis(array, -1, 0), self.GATES, order, axis=0))

        arrays = {f"weight_ih{suffix}": rows(self.kernel), f"weight_hh{suffix}": rows(self.recurrent_kernel)}
        if self.bias is not None:
            arrays[f"bias_ih{suffix}"] = rows(self.bias)
            arrays[f"bias_hh{suffix}"] = np.zeros_like(self.bias)
        return arrays

    @classmethod
    def from_torch(cls, module_or_state_dict: object, layer: int = 0, direction: str = "forward", *,
                   prefix: str | None = None) -> BlockWeights:
        """One layer (and direction) of a torch module or its state dict, as Keras weights.

        Arguments:
            module_or_state_dict: the torch module, or a state dict of tensors or NumPy arrays holding
                ``weight_ih_l{layer}`` ``(G*u, F)``, ``weight_hh_l{layer}`` ``(G*u, u)`` and, unless
                ``bias=False``, ``bias_ih_l{layer}`` and ``bias_hh_l{layer}`` ``(G*u,)``.
            layer: which layer of a stack. direction: ``"forward"`` or ``"reverse"`` (``"backward"``).
            prefix: the part of every key before ``weight_ih_l{layer}``; found when only one module is in the dict.

        Returns:
            Weights with ``kernel (F, G*u)``, ``recurrent_kernel (u, G*u)`` and ``bias = bias_ih + bias_hh``
            ``(G*u,)`` (or none), in Keras block order and the parameters' float dtype.
        """
        suffix = param_suffix(layer, direction)
        state, prefix = cls._state_dict(module_or_state_dict, prefix, f"weight_ih{suffix}")
        keys = {key: f"{prefix}{key}{suffix}" for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        for key in ("weight_ih", "weight_hh"):
            if keys[key] not in state:
                raise error("module_or_state_dict",
                            f"a parameter {keys[key]!r} (layer={layer}, direction={direction!r})",
                            got=f"keys {sorted(k for k in state if isinstance(k, str) and k.startswith(prefix))}")
        if f"{prefix}weight_hr{suffix}" in state:
            raise error("module_or_state_dict", f"a {cls.TORCH_MODULE} without projection (proj_size=0): "
                        "Keras has none", got=f"a parameter {prefix + 'weight_hr' + suffix!r}")
        arrays = {key: param_array(state[name], name) if name in state else None for key, name in keys.items()}
        if (arrays["bias_ih"] is None) != (arrays["bias_hh"] is None):
            raise error("module_or_state_dict", f"both {keys['bias_ih']!r} and {keys['bias_hh']!r} or neither",
                        got="only one of them")
        g, w_ih, w_hh = len(cls.GATES), arrays["weight_ih"], arrays["weight_hh"]
        if w_hh.ndim != 2 or w_hh.shape[0] != g * w_hh.shape[1] or w_hh.shape[1] == 0:
            raise error(keys["weight_hh"], f"shape ({g if g > 1 else ''}u, u) of a {cls.TORCH_MODULE}", w_hh)
        u = w_hh.shape[1]
        if w_ih.ndim != 2 or w_ih.shape[0] != g * u:
            raise error(keys["weight_ih"], f"shape ({g * u}, input_size) for hidden_size={u}", w_ih)
        for key in ("bias_ih", "bias_hh"):
            if arrays[key] is not None and arrays[key].shape != (g * u,):
                raise error(keys[key], f"shape ({g * u},) for hidden_size={u}", arrays[key])
        bias = None
        if arrays["bias_ih"] is not None:
            b_ih, b_hh = arrays["bias_ih"], arrays["bias_hh"]
            bias = b_ih if not b_hh.any() else b_ih + b_hh

        def columns(array: np.ndarray) -> np.ndarray:  # torch (G*u, ...) -> Keras (..., G*u)
            return np.ascontiguousarray(np.moveaxis(reorder(array, cls._torch_order(), cls.GATES, axis=0), 0, -1))

        return cls(columns(w_ih), columns(w_hh), None if bias is None else columns(bias))

    @classmethod
    def _state_dict(cls, source: object, prefix: str | None, end: str) -> tuple[Mapping[str, object], str]:
        mode = getattr(source, "mode", None)
        if mode is not None and mode not in cls.TORCH_MODES:
            raise error("module_or_state_dict", f"a {cls.TORCH_MODULE} (mode {' or '.join(cls.TORCH_MODES)})",
                        got=f"a torch {type(source).__name__} of mode {mode!r}")
        if callable(getattr(source, "state_dict", None)):
            source = source.state_dict()
        if not isinstance(source, Mapping):
            raise error("module_or_state_dict", f"a {cls.TORCH_MODULE} or its state_dict()", source)
        if prefix is None:
            prefixes = sorted({k[: -len(end)] for k in source if isinstance(k, str) and k.endswith(end)})
            if len(prefixes) != 1:
                got = f"no key ending in {end!r}" if not prefixes else f"several modules, prefixes {prefixes}"
                raise error("module_or_state_dict", f"the parameters of one module ({end}, ...); pass prefix= "
                            "to pick one", got=got)
            prefix = prefixes[0]
        return source, prefix


def check_step(x_t: object, states: object, w: BlockWeights, names: tuple[str, ...]) -> tuple[np.ndarray, tuple]:
    """``x_t`` ``(B, input_dim)`` and the state tuple ``states`` (one ``(B, u)`` array per name) in the
    compute dtype, as :func:`refgru.gru_step` does: a float ``x_t`` combines with the weights' dtype by
    NumPy's promotion, an integer one takes it; the states are cast to that dtype."""
    x = as_numeric("x_t", x_t)
    if x.ndim != 2 or x.shape[1] != w.input_dim:
        raise error("x_t", f"shape (B, {w.input_dim}) with {w.input_dim} = the kernel's input_dim", x)
    dtype = np.result_type(x.dtype, w.dtype) if x.dtype.kind == "f" else w.dtype
    if not isinstance(states, (tuple, list)) or len(states) != len(names):
        names_tuple = f"({', '.join(names)}{',' * (len(names) == 1)})"
        raise error("states", f"a tuple {names_tuple} of {len(names)} array(s) of shape (B, u)", got=describe(states))
    arrays = []
    for name, value in zip(names, states, strict=True):
        s = as_numeric(name, value)
        if s.shape != (x.shape[0], w.units):
            raise error(name, f"shape ({x.shape[0]}, {w.units}) = (batch of x_t, units)", s)
        arrays.append(s.astype(dtype, copy=False))
    return x.astype(dtype, copy=False), tuple(arrays)


def project_inputs(x: np.ndarray, w: BlockWeights) -> np.ndarray:
    """``x @ kernel + bias`` for ``x`` of shape ``(..., input_dim)``: the input parts of all blocks, ``(..., G*u)``."""
    x_proj = x @ w.kernel
    if w.bias is not None:
        x_proj += w.bias
    return x_proj


__all__ = ["BlockWeights", "check_step", "project_inputs", "reorder"]
