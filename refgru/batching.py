"""Batch sizes for bounded memory: the rows a batch may hold, measured on a model, and the input structures
(an array, a list or a dict of arrays with one batch axis) that batches are cut from.

:mod:`refgru.streaming` runs the batches; this module only sizes them.
"""

from __future__ import annotations

import tracemalloc
from typing import Any, Callable

import numpy as np

from .errors import error

DEFAULT_BUDGET = 128 << 20   # bytes of working memory a batch may use
MAX_BATCH = 1 << 16          # larger batches are no faster
PROBE_ROWS = 256             # rows run once to measure a model's memory per row


def row_arrays(x: Any) -> list[np.ndarray]:
    """The arrays of ``x``: an array, a list / tuple of them or a dict of them (its values)."""
    return list(x.values()) if isinstance(x, dict) else list(x) if isinstance(x, (list, tuple)) else [x]


def row_slice(x: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of every array of ``x``, in the same structure."""
    if isinstance(x, dict):
        return {k: v[start:stop] for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(v[start:stop] for v in x)
    return x[start:stop]


def is_dask(x: Any) -> bool:
    """Whether ``x`` is a dask array, or a list / tuple / dict holding one (without importing dask)."""
    return any(type(v).__module__.split(".")[0] == "dask" for v in row_arrays(x))


def is_stateful(model: Any) -> bool:
    """Whether ``model`` carries state from call to call: a refgru ``Model``'s :attr:`~refgru.model.Model.stateful`
    (a stateful GRU, LSTM or SimpleRNN anywhere in it), else any stateful GRU its ``gru_layers()`` lists."""
    flag = getattr(model, "stateful", None)
    if isinstance(flag, bool):
        return flag
    return any(options.get("stateful") for _, _, options in getattr(model, "gru_layers", list)())


def one_batch(model: Any) -> Callable[[Any], Any]:
    """The function that runs ``model`` on one batch as it is: a refgru ``Model`` is called (``model(x)``),
    so that its own ``predict`` batching is not nested in ours; anything else gives its ``predict``."""
    return model if callable(model) else model.predict


def measure_row_bytes(predict_fn: Callable[[Any], Any], sample: Any) -> int:
    """Bytes per row that ``predict_fn(sample)`` allocates at its peak (``tracemalloc``, which sees NumPy's
    arrays), plus the bytes of one input row. ``sample`` is a few rows of real input."""
    n = len(row_arrays(sample)[0])
    in_bytes = sum(v[:1].nbytes for v in row_arrays(sample))
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        predict_fn(sample)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if started:
            tracemalloc.stop()
    return max(1, (peak - before + n - 1) // n + in_bytes)


def pick_batch_size(model_or_per_row_bytes: Any, budget_bytes: int = DEFAULT_BUDGET, *, sample: Any = None,
                    n_rows: int | None = None) -> int:
    """The largest batch (at most ``MAX_BATCH``, and ``n_rows``) whose working memory fits ``budget_bytes``.

    Arguments:
        model_or_per_row_bytes: bytes one row needs, or a model (anything with ``predict``) or a predict
            function, measured on ``sample`` (a few rows of the input) with :func:`measure_row_bytes`.
            A stateful model is refused: its batch size is part of its state, so pass one explicitly.
    """
    per_row = model_or_per_row_bytes
    if not isinstance(per_row, (int, np.integer)) or isinstance(per_row, bool):
        if is_stateful(per_row):
            raise error("batch_size", "an explicit batch size for a stateful model (it carries state from batch "
                        "to batch)", None)
        if sample is None:
            raise error("sample", "a few input rows to measure the model on", None)
        if n_rows is not None and 0 < n_rows <= PROBE_ROWS:
            return int(n_rows)  # as few rows as the probe: run them at once, unmeasured
        per_row = measure_row_bytes(one_batch(per_row), row_slice(sample, 0, PROBE_ROWS))
    if per_row < 1 or not isinstance(budget_bytes, (int, np.integer)) or budget_bytes < 1:
        raise error("budget_bytes", "a positive number of bytes (and a positive size per row)",
                    got=f"{budget_bytes} bytes, {per_row} per row")
    return int(max(1, min(budget_bytes // per_row, MAX_BATCH, n_rows or MAX_BATCH)))


__all__ = ["DEFAULT_BUDGET", "MAX_BATCH", "PROBE_ROWS", "is_dask", "is_stateful", "measure_row_bytes", "one_batch",
           "pick_batch_size", "row_arrays", "row_slice"]
