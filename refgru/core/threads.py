"""Both cores for a large batch: :func:`split_batch` runs two halves of the batch in two threads.

The rows of a batch never interact (each has its own state and mask), so the halves run the same
driver (:func:`refgru.core.sequence.run`) with the same kernel, and the results are stacked. Each
half's per-step matmul and element-wise NumPy calls release the GIL, so the two halves use both
cores for the element-wise work too, which a single NumPy loop does on one core.

Two threaded BLAS pools in one process contend for the same cores and are slower than one, so
while the halves run, BLAS is limited to one thread **per process** (``threadpoolctl``; the limit
is restored afterwards, and other threads of the process calling BLAS meanwhile see it as well).
Without ``threadpoolctl`` installed, or on one core, nothing is split. ``threadpoolctl`` is an
optional package: the core needs only NumPy, and this module imports it only when it would split.

Measured in ``benchmarks/`` (docs/benchmarks.md): the split pays off from about
:data:`SPLIT_MIN_MACS` multiply-adds per step.
"""

from __future__ import annotations

import os
import threading
from typing import Callable

import numpy as np

#: Split only when a step does at least this many multiply-adds, ``B * n * 3 * (F + n)``, ...
SPLIT_MIN_MACS = 1 << 21
#: ... and the batch has at least this many rows.
SPLIT_MIN_BATCH = 16

_lock = threading.Lock()
_shared: dict[str, object] = {}


def _tools():
    """``(executor, controller)``, built once, or ``None`` without threadpoolctl or a second core."""
    with _lock:
        if "tools" not in _shared:
            tools = None
            if (os.cpu_count() or 1) >= 2:
                try:
                    from threadpoolctl import ThreadpoolController
                except ImportError:
                    pass
                else:
                    from concurrent.futures import ThreadPoolExecutor

                    tools = (ThreadPoolExecutor(1, thread_name_prefix="refgru-half"), ThreadpoolController())
            _shared["tools"] = tools
        return _shared["tools"]


def should_split(batch: int, features: int, units: int) -> bool:
    """Whether a batch of this size is worth two threads (:data:`SPLIT_MIN_MACS`, :data:`SPLIT_MIN_BATCH`)."""
    return batch >= SPLIT_MIN_BATCH and batch * units * 3 * (features + units) >= SPLIT_MIN_MACS


def split_batch(schedule, kernel, initial_states: tuple[np.ndarray, ...], run_half: Callable):
    """``run_half(schedule, kernel, states)`` on the two halves of the batch in two threads, stacked.

    Returns ``(output, states)`` as :func:`refgru.core.sequence.run` does, or ``None`` when the batch
    is not split (too small, the kernel is not marked ``splittable``, no threadpoolctl, one core).
    """
    batch, _, features = schedule.x.shape
    if not getattr(kernel, "splittable", False) or not should_split(batch, features, initial_states[0].shape[1]):
        return None
    tools = _tools()
    if tools is None:
        return None
    executor, controller = tools
    top, bottom = slice(0, batch // 2), slice(batch // 2, batch)
    with controller.limit(limits=1, user_api="blas"):
        first = executor.submit(run_half, schedule.rows(top), kernel, tuple(s[top] for s in initial_states))
        out_b, states_b = run_half(schedule.rows(bottom), kernel, tuple(s[bottom] for s in initial_states))
        out_a, states_a = first.result()
    states = tuple(np.concatenate(pair) for pair in zip(states_a, states_b, strict=True))
    return np.concatenate([out_a, out_b]), states


__all__ = ["SPLIT_MIN_BATCH", "SPLIT_MIN_MACS", "should_split", "split_batch"]
