"""The one sequence driver, in the style of Keras's ``backend.rnn(step_function, inputs, initial_states, ...)``.

:func:`run` alone applies the sequence rules of :mod:`refgru.core.masking` (``go_backwards`` through
the :class:`~refgru.core.masking.Schedule`, mask carry, output repeat or zero, ``return_sequences``).
A *step kernel* supplies the cell's math and knows nothing of those rules.

The kernel protocol (what any cell, GRU or not, implements):

``kernel.steps(x, initial_states)`` -> an iterator with one item per time step, in processing order
    ``x`` is ``(B, T, F)`` in processing order and the compute dtype; ``initial_states`` a tuple of
    ``(B, n)`` arrays (``(h,)`` for a GRU or SimpleRNN, ``(h, c)`` for an LSTM). Each item is the
    tuple ``(output_t, states, states_tm1, values)``:

    - ``output_t`` ``(B, n_out)``: what the cell outputs at this step (may be ``states[0]`` itself);
    - ``states``: the tuple of new states. They must be writable arrays that the kernel reads as the
      previous states of the next step: the driver carries masked rows into them *in place* before
      it asks for the next item;
    - ``states_tm1``: the tuple of states this step started from (read-only for the driver);
    - ``values``: anything the kernel records about the step (a :class:`refgru.core.cell.StepGates`
      for the recording GRU kernel), or ``None``.

    The arrays may be views into the kernel's buffers, valid until the next item is requested.
    The kernel may process the inputs in chunks (for memory), invisibly to the driver.

Optionally, a kernel may also offer the whole sequence in one call, which :func:`run` uses when no
rule has anything to do between steps (no mask, no ``record``):

``kernel.sequence(x, initial_states, outputs)`` -> the final states (kernels whose ``output_t`` is ``states[0]``)
    the same computation as iterating ``steps``, without handing out each step: it writes
    ``output_t`` into ``outputs[:, t]`` when ``outputs`` (``(B, T, n_out)``, allocated by the driver)
    is not ``None``, and returns the tuple of final states (arrays the driver may keep).

A new cell type is a step function plus its weights class plus such a kernel (a few lines, see
:class:`refgru.core.cell.CellKernel`); it gets masks, ``go_backwards``, ``zero_output_for_mask`` and
``return_sequences`` from this module without writing them again.
"""

from __future__ import annotations

from typing import Callable, Iterator, Protocol

import numpy as np

from .masking import Schedule, carry

#: One item of a kernel's iterator: ``(output_t, states, states_tm1, values)``.
Step = tuple[np.ndarray, tuple[np.ndarray, ...], tuple[np.ndarray, ...], object]
#: ``record(t, step, output)``: called after the rules of step ``t`` with the kernel's item and the layer's output.
Record = Callable[[int, Step, np.ndarray], None]


class Kernel(Protocol):
    """A step kernel; see the module docstring."""

    def steps(self, x: np.ndarray, initial_states: tuple[np.ndarray, ...]) -> Iterator[Step]: ...


def run(schedule: Schedule, kernel: Kernel, initial_states: tuple[np.ndarray, ...], *,
        record: Record | None = None) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Drive ``kernel`` over ``schedule`` and apply Keras's sequence rules.

    Arguments:
        schedule: the inputs in processing order and the mask rules (:func:`refgru.core.masking.make_schedule`).
        kernel: a step kernel (the module docstring gives the protocol).
        initial_states: tuple of ``(B, n)`` arrays in the compute dtype; not modified.
        record: ``record(t, step, output)`` after each step ``t`` (processing order): the kernel's item
            (``(output_t, states, states_tm1, values)``, states already carried) and the layer's output
            of the step. Its arrays are only valid during the call: copy what you keep.

    Returns:
        ``(output, states)``: output ``(B, T, n_out)`` (processing order) with ``return_sequences``,
        else ``(B, n_out)``; the final states, a tuple of ``(B, n)`` arrays that share no memory with
        the output or the kernel.
    """
    keep, drop, zero = schedule.keep, schedule.drop, schedule.zero_output_for_mask
    outputs = output = step = None
    if keep is None and record is None and hasattr(kernel, "sequence"):  # nothing to do between steps
        if schedule.return_sequences:
            n_out = initial_states[0].shape[1]
            outputs = np.empty((schedule.batch, schedule.steps, n_out), initial_states[0].dtype)
        states = kernel.sequence(schedule.x, initial_states, outputs)
        return (outputs if outputs is not None else states[0].copy()), states
    if keep is None and not schedule.return_sequences and record is None:
        for step in kernel.steps(schedule.x, initial_states):  # noqa: B007 (nothing to do between steps)
            pass
    else:
        for t, step in enumerate(kernel.steps(schedule.x, initial_states)):
            output_t = step[0]
            if outputs is None and schedule.return_sequences:
                outputs = np.empty(output_t.shape[:1] + (schedule.steps,) + output_t.shape[1:], output_t.dtype)
            if keep is not None:
                if output is None:
                    output = np.zeros_like(output_t)  # the output before the first unmasked step is zeros
                carry(step[1], step[2], output, output_t, keep[t], drop[t], zero)
            if outputs is not None:
                outputs[:, t] = output_t if keep is None else output
            if record is not None:
                record(t, step, output_t if keep is None else output)
    states = tuple(s.copy() for s in step[1])
    if outputs is not None:
        return outputs, states
    return (step[0] if output is None else output).copy(), states


__all__ = ["Kernel", "Record", "Step", "run"]
