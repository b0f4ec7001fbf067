"""Batch rows across threads, for kernels whose rows are independent (no sequence rule between steps).

NumPy's ufuncs run on one core, while a GRU step at a large batch spends about half its time in them
(``exp``, ``tanh``, the products). Splitting the batch into one block of rows per core, each block
running the *whole* sequence in its own thread, uses every core for the ufuncs as well as for the
matmuls, with no synchronisation between steps: NumPy releases the GIL inside its loops and BLAS
calls. Each worker's BLAS must then run on one thread, or the BLAS pools of the workers contend for
the same cores (measured slower than no split): while split work runs, refgru limits the BLAS
libraries loaded in the process to one thread through ``threadpoolctl`` (an optional dependency,
``pip install refgru[threads]``) and restores the previous limits when the last split call ends.
Without ``threadpoolctl`` nothing is split.

:func:`set_num_threads` (or the environment variable ``REFGRU_NUM_THREADS``, read once) sets how
many threads a call may use; the default is the number of cores the process may run on. A call is
split only when each block gets at least :data:`MIN_ROWS` rows and the call is large enough to repay
starting the workers (:data:`MIN_WORK`); results equal the unsplit call's up to the matmuls' summation
order (tests/test_threads.py bounds it).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable, Sequence, TypeVar

from ..errors import error

#: Each block of rows has at least this many (a smaller block makes the ufuncs call-bound again).
MIN_ROWS = 8
#: ``B * T * u`` below this runs in the calling thread: about a millisecond of work.
MIN_WORK = 1 << 17

_T = TypeVar("_T")
_lock = threading.Lock()
_state: dict = {"threads": None, "pool": None, "controller": None, "limiter": None, "active": 0}


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_num_threads(n: int | None) -> None:
    """Let refgru's kernels use up to ``n`` threads (``None``: as many as the process has cores; 1: never split)."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise error("n", "a positive int or None", n)
    with _lock:
        _state["threads"] = n


def get_num_threads() -> int:
    """How many threads a large call may use now (see :func:`set_num_threads`)."""
    n = _state["threads"]
    if n is None:
        env = os.environ.get("REFGRU_NUM_THREADS", "")
        n = int(env) if env.isdigit() and int(env) > 0 else _cores()
    return n


def blocks(batch: int, steps: int, units: int) -> list[slice] | None:
    """The row blocks to run in parallel, or ``None`` to run in the calling thread."""
    n = min(get_num_threads(), batch // MIN_ROWS)
    if n < 2 or batch * steps * units < MIN_WORK or _controller() is None:
        return None
    edges = [batch * i // n for i in range(n + 1)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _controller():
    """threadpoolctl's controller of the loaded libraries (``False`` when threadpoolctl is missing)."""
    if _state["controller"] is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _state["controller"] = False
        else:
            _state["controller"] = ThreadpoolController()
    return _state["controller"] or None


def _enter() -> None:
    with _lock:
        if _state["active"] == 0:
            _state["limiter"] = _controller().limit(limits=1, user_api="blas")
        _state["active"] += 1


def _exit() -> None:
    with _lock:
        _state["active"] -= 1
        if _state["active"] == 0:
            _state["limiter"].restore_original_limits()
            _state["limiter"] = None


def _pool(n: int) -> ThreadPoolExecutor:
    pool = _state["pool"]
    if pool is None or pool._max_workers < n:
        with _lock:
            pool = _state["pool"]
            if pool is None or pool._max_workers < n:
                pool = _state["pool"] = ThreadPoolExecutor(n, thread_name_prefix="refgru")
    return pool


def map_blocks(work: Callable[[slice], _T], parts: Sequence[slice]) -> list[_T]:
    """``[work(part) for part in parts]``, one part per thread, with BLAS on one thread meanwhile."""
    _enter()
    futures = []
    try:
        pool = _pool(len(parts) - 1)
        futures = [pool.submit(work, part) for part in parts[1:]]
        first = work(parts[0])                        # the calling thread takes the first block
        return [first] + [f.result() for f in futures]
    finally:
        wait(futures)                                 # even after an error: no worker outlives the limit
        _exit()


__all__ = ["MIN_ROWS", "MIN_WORK", "blocks", "get_num_threads", "map_blocks", "set_num_threads"]
