"""THE sequence rules of a Keras RNN layer, written once: direction, mask carry and the output policy.

Keras's rules (``keras.src.backend.*.rnn``), which hold for any cell:

- ``go_backwards`` processes ``x`` and the mask from the last step to the first. Outputs stay in
  processing order: ``output[:, t]`` belongs to input step ``T - 1 - t``.
- At a masked step every state is carried unchanged (``h = h_tm1``; an LSTM carries ``h`` and ``c``).
- The output of a masked step repeats the previous output (zeros before the first unmasked step),
  or is zeros with ``zero_output_for_mask`` (what Bidirectional uses).

:func:`make_schedule` turns ``x``, the mask and the flags into a :class:`Schedule` once;
:func:`carry` applies the two mask rules to one step in place, and :func:`carry_vjp`, right below it,
is its adjoint for the backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Schedule:
    """A sequence in processing order, with the mask rules it needs.

    Attributes:
        x: ``(B, T, F)`` the inputs in processing order (a reversed view with ``go_backwards``).
        keep: ``(T, B, 1)`` bool, time-major so that ``keep[t]`` is a free view, or ``None`` without a mask.
        drop: ``~keep``, the same shape, or ``None``.
        go_backwards, return_sequences, zero_output_for_mask: the layer's flags.
    """

    x: np.ndarray
    keep: np.ndarray | None
    drop: np.ndarray | None
    go_backwards: bool
    return_sequences: bool
    zero_output_for_mask: bool

    @property
    def batch(self) -> int:
        return self.x.shape[0]

    @property
    def steps(self) -> int:
        return self.x.shape[1]

    def to_input_order(self, array: np.ndarray, axis: int = 1) -> np.ndarray:
        """``array`` indexed by processing step along ``axis``, re-indexed by input step (a view)."""
        return np.flip(array, axis) if self.go_backwards else array


def make_schedule(x: np.ndarray, mask: np.ndarray | None, *, go_backwards: bool, return_sequences: bool,
                  zero_output_for_mask: bool) -> Schedule:
    """The :class:`Schedule` of checked ``x`` ``(B, T, F)`` and mask ``(B, T)`` bool (or ``None``), in input order."""
    if go_backwards:
        x = x[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    keep = None if mask is None else np.ascontiguousarray(mask.T)[..., None]
    return Schedule(x, keep, None if keep is None else ~keep, go_backwards, return_sequences, zero_output_for_mask)


def carry(states: tuple[np.ndarray, ...], states_tm1: tuple[np.ndarray, ...], output: np.ndarray,
          output_t: np.ndarray, keep_t: np.ndarray, drop_t: np.ndarray, zero_output_for_mask: bool) -> None:
    """Apply the mask rules of one step in place.

    Arguments:
        states: the step's new states (each ``(B, n)``); masked rows are overwritten with ``states_tm1``.
        states_tm1: the states the step started from.
        output: ``(B, n)`` the layer's output so far; becomes this step's output.
        output_t: ``(B, n)`` what the cell output at this step (it may be ``states[0]`` itself).
        keep_t, drop_t: ``(B, 1)`` bool, the mask of this step and its negation.
    """
    for new, old in zip(states, states_tm1, strict=True):
        np.copyto(new, old, where=drop_t)       # a masked step carries every state
    if zero_output_for_mask:                    # ... and outputs zeros
        np.copyto(output, output_t)
        np.copyto(output, 0, where=drop_t)
    else:                                       # ... or repeats the last output
        np.copyto(output, output_t, where=keep_t)


def carry_vjp(d_states: tuple[np.ndarray, ...], d_output: np.ndarray, keep_t: np.ndarray,
              zero_output_for_mask: bool) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], np.ndarray]:
    """The adjoint of :func:`carry` (with ``output_t = states[0]``, as for GRU, LSTM and SimpleRNN).

    Arguments:
        d_states: ``dL/d states`` after the step (each ``(B, n)``).
        d_output: ``dL/d output`` of this step (the upstream gradient plus what later masked steps
            that repeated this output sent back).
        keep_t: ``(B, 1)`` bool.

    Returns:
        ``(d_step, d_carried, d_output_tm1)``: the gradients of the cell's new states (the first
        including the output), of ``states_tm1`` through the carry, and of the previous output
        (non-zero only where a masked step repeated it).
    """
    d_new = (d_states[0] + d_output,) + tuple(d_states[1:])
    d_step = tuple(np.where(keep_t, d, 0) for d in d_new)
    d_carried = tuple(np.where(keep_t, 0, d) for d in d_states)
    d_output_tm1 = np.zeros_like(d_output) if zero_output_for_mask else np.where(keep_t, 0, d_output)
    return d_step, d_carried, d_output_tm1


__all__ = ["Schedule", "carry", "carry_vjp", "make_schedule"]
