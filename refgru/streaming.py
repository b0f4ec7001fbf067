"""Predict in batches with bounded memory: streamed files, progress, Dask (batch sizes: :mod:`refgru.batching`,
re-exported here).

Rows are independent in a stateless model, so the results do not depend on the batch size. A stateful
GRU, LSTM or SimpleRNN carries its state from one batch to the next: :func:`predict_stream` runs batches strictly in row
order, one after the other, and never reorders or parallelizes them; :func:`predict_dask` refuses a
stateful model, because Dask runs blocks in parallel.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

import numpy as np

from .batching import (  # noqa: F401
    DEFAULT_BUDGET,
    MAX_BATCH,
    PROBE_ROWS,
    is_dask,
    is_stateful,
    measure_row_bytes,
    one_batch,
    pick_batch_size,
    row_arrays,
    row_slice,
)
from .datafiles import nonfinite_error, nonfinite_rows, result_parts
from .errors import RefgruError, describe, error


class _Progress:
    """A ``tqdm`` bar on stderr (rows per second, time left), or a one-line summary (``verbose=2``), or nothing."""

    def __init__(self, total: int | None, verbose: Any):
        if verbose not in ("auto", 0, 1, 2) or isinstance(verbose, bool):
            raise error("verbose", '"auto", 0, 1 or 2 (as Keras predict)', verbose)
        tty = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self.mode = (1 if tty else 0) if verbose == "auto" else verbose
        self.total, self.start, self.bar = total, time.perf_counter(), None
        if self.mode == 1:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="rows", unit_scale=True, file=sys.stderr, dynamic_ncols=True,
                            delay=0.5 if verbose == "auto" else 0, leave=False)

    def update(self, rows: int) -> None:
        if self.bar is not None:
            self.bar.update(rows)

    def close(self, rows: int | None = None) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.mode == 2 and rows is not None:
            seconds = time.perf_counter() - self.start
            print(f"refgru: {rows} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):.0f} rows/s)", file=sys.stderr)


def predict_stream(predict_fn: Callable[[Any], Any], reader: Any, writer: Any, batch_size: int,
                   verbose: Any = "auto", *, argument: str = "INPUT") -> int:
    """Run ``predict_fn`` over ``reader`` in batches of ``batch_size`` rows, in row order; write every result.

    Arguments:
        predict_fn: one batch in (an array or a dict by input name), its outputs out.
        reader: ``.n_rows`` and ``.chunks(rows)`` yielding ``(first_row, x)``, e.g. a
            :class:`refgru.datafiles.InputFile` or :class:`ArrayReader`.
        writer: ``.write(result)``, ``.close()`` and ``.abort()``, e.g. a :class:`refgru.datafiles.OutputFile`
            or :class:`ArrayWriter`. On any error the writer is aborted.
        verbose: ``"auto"`` (a progress bar when stderr is a terminal), 0 (none), 1 (a bar), 2 (one line).

    A NaN or inf input is refused: the rest of the input is then scanned (not run) so that the error
    names how many rows hold them and the first row indices. Returns the number of rows.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise error("batch_size", "a positive int", batch_size)
    progress, done = _Progress(reader.n_rows, verbose), 0
    try:
        chunks = reader.chunks(int(batch_size))
        for start, x in chunks:
            bad = _bad_rows(x, start)
            if bad:
                for more_start, more in chunks:
                    bad.extend(_bad_rows(more, more_start))
                raise nonfinite_error(argument, len(bad), bad[:5])
            writer.write(predict_fn(x))
            rows = len(row_arrays(x)[0])
            done += rows
            progress.update(rows)
        writer.close()
    except BaseException:
        writer.abort()
        progress.close()
        raise
    progress.close(done)
    return done


def _bad_rows(x: Any, start: int) -> list[int]:
    rows = [nonfinite_rows(v) for v in row_arrays(x)]
    return sorted({int(i) + start for r in rows for i in r})


class ArrayReader:
    """In-memory inputs (an array, a list or a dict of arrays with one batch axis) as a reader of views."""

    def __init__(self, x: Any):
        self.x, self.n_rows = x, len(row_arrays(x)[0])

    def chunks(self, rows: int):
        for start in range(0, self.n_rows, rows):
            yield start, row_slice(self.x, start, start + rows)


def _rebuild(template: Any, arrays: Any) -> Any:
    """``template``'s nesting of dicts, lists and tuples (states of stacked cells are nested) with the next
    arrays of ``arrays`` as its leaves, in the order :func:`result_parts` lists them."""
    if isinstance(template, dict):
        return {key: _rebuild(value, arrays) for key, value in template.items()}
    if isinstance(template, (list, tuple)):
        return type(template)(_rebuild(value, arrays) for value in template)
    return next(arrays)


class ArrayWriter:
    """Outputs gathered in memory into arrays allocated once; :attr:`result` has the structure of one batch's."""

    def __init__(self, n_rows: int):
        self.n_rows, self.done, self.arrays, self.kind, self.result = n_rows, 0, None, None, None

    def write(self, result: Any) -> None:
        parts = result_parts(result, None)
        if self.arrays is None:
            self.kind = result if isinstance(result, (dict, list, tuple)) else None
            self.arrays = [np.empty((self.n_rows, *a.shape[1:]), a.dtype) for _, a in parts]
        shapes = [a.shape[1:] for _, a in parts]
        if shapes != [o.shape[1:] for o in self.arrays]:
            raise RefgruError(f"predict: expected every batch to give outputs like the first, got {describe(result)}")
        for (_, a), out in zip(parts, self.arrays, strict=True):
            out[self.done:self.done + len(a)] = a
        self.done += len(parts[0][1])

    def close(self) -> None:
        self.result = _rebuild(self.kind, iter(self.arrays)) if self.kind is not None else self.arrays[0]

    def abort(self) -> None:
        self.arrays = None


class OneBatchWriter:
    """The writer of a run in one batch: its outputs are the :attr:`result`, with no gathering copy; an output that
    is a view of the input (an identity layer's) is copied, so the result never aliases ``x``."""

    def __init__(self, x: Any):
        self.inputs, self.result = row_arrays(x), None

    def write(self, result: Any) -> None:
        parts = [a.copy() if any(np.may_share_memory(a, v) for v in self.inputs) else a
                 for _, a in result_parts(result, None)]
        self.result = _rebuild(result, iter(parts))

    def close(self) -> None:
        pass

    def abort(self) -> None:
        self.result = None


def predict_arrays(predict_fn: Callable[[Any], Any], x: Any, batch_size: int, verbose: Any = "auto") -> Any:
    """``predict_fn`` over in-memory ``x`` in batches of ``batch_size`` rows; the outputs as one batch's structure.

    When one batch holds every row, its outputs are the result as they are (:class:`OneBatchWriter`)."""
    n_rows = len(row_arrays(x)[0])
    writer = OneBatchWriter(x) if batch_size >= n_rows else ArrayWriter(n_rows)
    predict_stream(predict_fn, ArrayReader(x), writer, batch_size, verbose, argument="x")
    return writer.result


def _declared(model: Any, name: str) -> tuple[Any, Any]:
    """The row shape (without the batch axis) and dtype an input layer declares, or ``(None, "float32")``."""
    try:
        layer = model.get_layer(name)
    except (RefgruError, AttributeError):
        return None, "float32"
    shape = getattr(layer, "shape", None)
    return (tuple(shape[1:]) if shape else None), getattr(layer, "dtype", "float32")


def open_model_input(model: Any, path: Any, argument: str = "INPUT") -> Any:
    """:func:`refgru.datafiles.open_input` for ``model``: an ``.npz`` by its input names, a CSV/TXT row reshaped to
    the declared input shape and parsed as its dtype (integer token ids for an ``Embedding`` model)."""
    from .datafiles import open_input

    names = list(getattr(model, "input_names", None) or ["x"])
    row_shape, dtype = _declared(model, names[0]) if len(names) == 1 else (None, "float32")
    return open_input(path, names=names, row_shape=row_shape, dtype=dtype, argument=argument)


def predict_file(model: Any, input_path: Any, output_path: Any, batch_size: int | None = None,
                 verbose: Any = "auto", budget_bytes: int = DEFAULT_BUDGET) -> int:
    """``refgru predict MODEL INPUT -o OUT``: stream ``input_path`` through ``model`` into ``output_path``.

    The input is read in chunks and the output written as it comes (see :mod:`refgru.datafiles` for the
    formats); a CSV/TXT row is reshaped to the declared input shape. ``batch_size=None`` picks one with
    :func:`pick_batch_size` from ``budget_bytes``, measured on the first rows. Returns the number of rows.
    """
    from .datafiles import open_output

    with open_model_input(model, input_path) as reader:
        if not reader.n_rows:
            raise error("INPUT", "at least one row (Keras refuses an empty batch too)", got="0 rows")
        if batch_size is None:
            with open_model_input(model, input_path) as probe:
                sample = next(probe.chunks(PROBE_ROWS))[1]
            batch_size = PROBE_ROWS if _bad_rows(sample, 0) else pick_batch_size(  # predict_stream names the rows
                model, budget_bytes, sample=sample, n_rows=reader.n_rows)
        writer = open_output(output_path, reader.n_rows, names=getattr(model, "output_names", None))
        return predict_stream(one_batch(model), reader, writer, batch_size, verbose)


def predict_dask(model: Any, x: Any, batch_size: int | None = None) -> Any:
    """``model.predict`` over a ``dask.array.Array`` (or a list / dict of them), as lazy dask arrays.

    The inputs are rechunked so that only the batch axis is split (into ``batch_size`` rows, or as it
    already is), and every block runs as one batch (:func:`one_batch`) on a worker (the model travels in
    the task graph). The result has the structure ``model.predict`` returns, each output a lazy dask array; one
    row is run here first to learn the output shapes. A stateful model is refused.
    """
    import dask.array as da

    if is_stateful(model):
        raise error("model", "a stateless model under Dask (blocks run in parallel, so no state can carry "
                    "from one to the next)", got="a model with a stateful recurrent layer")
    arrays = row_arrays(x)
    if not arrays or not all(isinstance(a, da.Array) and a.ndim >= 1 for a in arrays):
        raise error("x", "a dask array with a batch axis, or a list / dict of them", x)
    if any(np.isnan(a.shape[0]) or a.shape[0] != arrays[0].shape[0] for a in arrays):
        raise error("x", "the same known number of rows in every input", got=str([a.shape[0] for a in arrays]))
    rows = arrays[0].chunks[0] if batch_size is None else batch_size
    arrays = [a.rechunk({0: rows, **{i: -1 for i in range(1, a.ndim)}}) for a in arrays]
    arrays = [a.rechunk({0: arrays[0].chunks[0]}) for a in arrays]
    keys = list(x) if isinstance(x, dict) else None
    shape = type(x) if isinstance(x, (list, tuple)) else None

    def feed(blocks):
        if keys is not None:
            return dict(zip(keys, blocks, strict=True))
        return shape(blocks) if shape is not None else blocks[0]

    run = one_batch(model)
    first = run(feed([np.asarray(a[:1].compute()) for a in arrays]))
    parts = result_parts(first, None)
    dtype = np.result_type(*(p.dtype for _, p in parts))
    widths = [int(np.prod(p.shape[1:])) for _, p in parts]

    def block(*blocks):
        out = result_parts(run(feed(list(blocks))), None)
        return np.concatenate([a.reshape(len(a), -1).astype(dtype, copy=False) for _, a in out], axis=1)

    letters = iter("abcdefghjklmnopqrstuvwxy")
    args = [item for a in arrays for item in (a, "i" + "".join(next(letters) for _ in range(a.ndim - 1)))]
    flat = da.blockwise(block, "iz", *args, new_axes={"z": sum(widths)}, concatenate=True, dtype=dtype,
                        token="refgru-predict", meta=np.empty((0, 0), dtype))
    outs, at = [], 0
    for (_, p), w in zip(parts, widths, strict=True):
        outs.append(flat[:, at:at + w].reshape((arrays[0].shape[0], *p.shape[1:])).astype(p.dtype))
        at += w
    if isinstance(first, dict):
        return dict(zip(first, outs, strict=True))
    return type(first)(outs) if isinstance(first, (list, tuple)) else outs[0]
