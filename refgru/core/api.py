"""``gru`` and ``gru_step``: resolve the options once, build the schedule, run the sequence driver.

``gru`` is the pipeline every sequence entry point shares (:func:`prepare`): options
(:func:`refgru.core.options.resolve`) -> weights (:meth:`GRUOptions.bind`) -> checked inputs ->
:class:`~refgru.core.masking.Schedule` -> :func:`refgru.core.sequence.run` with a step kernel.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from ..errors import error
from .cell import CellKernel, StepGates, cell, project_inputs
from .checks import as_numeric, check_initial_state, check_input, check_mask
from .fused import FusedKernel
from .masking import Schedule, make_schedule
from .options import GRUOptions, resolve
from .precision import RoundingKernel, rounded_cell
from .sequence import run
from .weights import GRUWeights


class Prepared(NamedTuple):
    """:func:`prepare`'s result: the resolved ``options``, the weights ``w``, the ``schedule``, ``h0`` ``(B, u)``."""

    options: GRUOptions
    w: GRUWeights
    schedule: Schedule
    h0: np.ndarray


def prepare(x: object, weights: Sequence[np.ndarray] | GRUWeights, initial_state: object, mask: object,
            options: GRUOptions) -> Prepared:
    """Check ``x`` ``(B, T, input_dim)``, ``initial_state`` and ``mask`` ``(B, T)``; build the schedule."""
    w = options.bind(weights)
    x = check_input(x, w.input_dim, w.dtype)
    batch, steps, _ = x.shape
    h0 = check_initial_state(initial_state, batch, w.units, x.dtype)
    schedule = make_schedule(x, check_mask(mask, batch, steps), go_backwards=options.go_backwards,
                             return_sequences=options.return_sequences,
                             zero_output_for_mask=options.zero_output_for_mask)
    return Prepared(options, w, schedule, h0)


def kernel_for(p: Prepared):
    """The fused kernel for a tanh/sigmoid layer, else the readable :class:`~refgru.core.cell.CellKernel`
    (:class:`~refgru.core.precision.RoundingKernel` with a reduced ``compute_dtype``)."""
    if p.options.compute_dtype is not None:
        return RoundingKernel(p.w, p.options.activation.forward, p.options.recurrent_activation.forward,
                              p.options.compute_dtype)
    if p.options.is_tanh_sigmoid:
        return FusedKernel(p.w, p.h0.dtype)
    return CellKernel(p.w, p.options.activation.forward, p.options.recurrent_activation.forward)


_RESOLVED: dict[tuple, GRUOptions] = {}
_RESOLVED_MAX = 256


def resolved(options: dict) -> GRUOptions:
    """:func:`resolve` memoised on the option values *and their types* (so ``1`` is not taken for ``True``).

    :class:`GRUOptions` is immutable, so a model's layer resolves its options once instead of on every
    call; unhashable values (or a full memo) just resolve again, and errors are never memoised."""
    try:
        key = tuple((name, type(value), value) for name, value in sorted(options.items()))
        hit = _RESOLVED.get(key)
    except TypeError:
        return resolve(**options)
    if hit is None:
        hit = resolve(**options)
        if len(_RESOLVED) < _RESOLVED_MAX:
            _RESOLVED[key] = hit
    return hit


def gru(x: np.ndarray, weights: Sequence[np.ndarray] | GRUWeights, *,
        initial_state: np.ndarray | Sequence[np.ndarray] | None = None, mask: np.ndarray | None = None, **options):
    """Run a Keras GRU layer over ``x``, with the weights ``GRU.get_weights()`` returned.

    Arguments:
        x: ``(B, T, input_dim)`` inputs. Integer input is cast to the weights' dtype.
        weights: ``[kernel (input_dim, 3u), recurrent_kernel (u, 3u), bias (2, 3u) | (3u,)]``, the
            same without ``bias`` for ``use_bias=False``, or a :class:`GRUWeights`.
        initial_state: ``(B, u)`` or ``[(B, u)]``; zeros by default.
        mask: bool ``(B, T)``; a masked step keeps the previous state, and its output repeats the
            previous output (zeros before the first unmasked step).
        options: the layer's options, as :meth:`refgru.model.Model.gru_layers` returns them
            (:func:`refgru.core.options.resolve` checks them):

            - ``reset_after``: ``None`` (default) infers it from the bias shape; see :class:`GRUWeights`.
            - ``activation``: the candidate activation (Keras name or callable), default ``"tanh"``.
            - ``recurrent_activation``: the gate activation for ``z`` and ``r``, default ``"sigmoid"``.
            - ``return_sequences``: return ``(B, T, u)`` (one output per step, in processing order)
              instead of ``(B, u)``.
            - ``return_state``: also return the final state ``(B, u)``.
            - ``go_backwards``: process ``x`` (and ``mask``) from the last step to the first. Outputs
              stay in processing order: ``out[:, t]`` belongs to input step ``T - 1 - t``.
            - ``zero_output_for_mask``: masked steps output zeros instead (what Bidirectional uses).
            - ``keras_version``: 3 (Keras 3, default) or 2 (tf-keras); decides ``hard_sigmoid`` and
              the container type.
            - ``units``, ``use_bias``: checked against the weights; ``stateful``: accepted, no effect.

    Returns:
        ``output``: ``(B, u)`` or ``(B, T, u)``. With ``return_state``, ``(output, state)`` as a tuple
        for ``keras_version=3`` and ``[output, state]`` as a list for ``keras_version=2``, as each
        Keras returns it.
    """
    return gru_resolved(x, weights, resolved(options), initial_state, mask)


def gru_resolved(x: np.ndarray, weights: Sequence[np.ndarray] | GRUWeights, options: GRUOptions,
                 initial_state: object = None, mask: object = None):
    """:func:`gru` with its options already resolved (:func:`resolved`): what a loaded GRU layer calls,
    since its options never change."""
    p = prepare(x, weights, initial_state, mask, options)
    output, (state,) = run(p.schedule, kernel_for(p), (p.h0,))
    if not p.options.return_state:
        return output
    return (output, state) if p.options.keras_version == 3 else [output, state]


def _as_2d(name: str, value: object, width: int, width_name: str, dtype: np.dtype,
           batch: int | None = None) -> np.ndarray:
    array = as_numeric(name, value)
    rows = "B" if batch is None else str(batch)
    if array.ndim != 2 or array.shape[1] != width or (batch is not None and array.shape[0] != batch):
        raise error(name, f"shape ({rows}, {width}) with {width} = {width_name}", array)
    return array.astype(np.result_type(array.dtype, dtype) if array.dtype.kind == "f" else dtype, copy=False)


def gru_step(x_t: np.ndarray, h_tm1: np.ndarray, weights: Sequence[np.ndarray] | GRUWeights, *,
             return_gates: bool = False, **options) -> np.ndarray | StepGates:
    """One GRU time step, exactly as ``keras.layers.GRUCell``.

    Arguments:
        x_t: ``(B, input_dim)`` the input at this step.
        h_tm1: ``(B, u)`` the previous state ``h_{t-1}``.
        weights: ``GRU.get_weights()`` or a :class:`GRUWeights`.
        return_gates: also return ``z``, ``r``, ``hh`` and the pre-activation parts.
        options: ``reset_after``, ``activation``, ``recurrent_activation``, ``keras_version`` (and the
            other options of :func:`refgru.gru`, which a single step does not use).

    Returns:
        ``h`` ``(B, u)``, or a :class:`StepGates` with ``h, z, r, hh, x_z, x_r, x_h, rec_z, rec_r, rec_h``
        (and the pre-activations ``a_z, a_r, a_h``).
    """
    opts = resolve(**options)
    w = opts.bind(weights)
    x_t = _as_2d("x_t", x_t, w.input_dim, "the kernel's input_dim", w.dtype)
    dtype = np.result_type(x_t.dtype, w.dtype)
    h_tm1 = _as_2d("h_tm1", h_tm1, w.units, "units", dtype, batch=x_t.shape[0]).astype(dtype, copy=False)
    if opts.compute_dtype is not None:
        k = RoundingKernel(w, opts.activation.forward, opts.recurrent_activation.forward, opts.compute_dtype)
        return rounded_cell(k.q(x_t), k.q(h_tm1), k.w, k.act, k.ract, k.q, gates=return_gates)
    return cell(project_inputs(x_t.astype(dtype, copy=False), w), h_tm1, w, opts.activation.forward,
                opts.recurrent_activation.forward, gates=return_gates)


__all__ = ["Prepared", "gru", "gru_resolved", "gru_step", "kernel_for", "prepare", "resolved"]
