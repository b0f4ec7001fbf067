"""The batch split across threads (refgru/core/threads.py): same numbers, BLAS limits restored, clear errors.

A split call runs each block of rows through the same fast loop in its own thread, with BLAS on one
thread. Within a row nothing changes but the matmuls' summation order (BLAS blocks a smaller M on
one thread differently), so the split result is held to the fast path's bound against the readable
cell() loop (tests/test_fast_path.py: 8 eps per step relative to max(1, |h|)) and to Keras's float32
tolerance against Keras 3 and tf-keras.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from helpers import assert_close, keras_gru, raises, random_weights
from test_fast_path import assert_fast_close

import refgru
from refgru.core import threads
from refgru.core.activations import sigmoid
from refgru.core.cell import CellKernel
from refgru.core.masking import make_schedule
from refgru.core.sequence import run


@pytest.fixture
def split_everything(monkeypatch):
    """Split any call with at least one row per thread (the size thresholds are for speed only)."""
    pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(threads, "MIN_ROWS", 1)
    monkeypatch.setattr(threads, "MIN_WORK", 1)
    calls = []
    real = threads.map_blocks
    monkeypatch.setattr(threads, "map_blocks", lambda work, parts: calls.append(len(parts)) or real(work, parts))
    yield calls
    threads.set_num_threads(None)


def _case(rng, batch, steps, features, units, reset_after, dtype="float32"):
    w = random_weights(rng, features, units, reset_after=reset_after, dtype=dtype)
    x = rng.normal(size=(batch, steps, features)).astype(dtype)
    h0 = rng.normal(size=(batch, units)).astype(dtype)
    return w, x, h0


@pytest.mark.parametrize("n_threads", [2, 3])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_split_equals_cell_loop(split_everything, n_threads, reset_after, dtype):
    """Uneven blocks (7 rows over 2 or 3 threads), return_sequences and go_backwards, both variants."""
    threads.set_num_threads(n_threads)
    rng = np.random.default_rng(n_threads)
    w, x, h0 = _case(rng, 7, 9, 3, 5, reset_after, dtype)
    gw = refgru.GRUWeights.from_keras(w)
    for go_backwards in (False, True):
        out, state = refgru.gru(x, w, initial_state=h0, return_sequences=True, return_state=True,
                                go_backwards=go_backwards)
        schedule = make_schedule(x, None, go_backwards=go_backwards, return_sequences=True, zero_output_for_mask=False)
        ref_out, (ref_state,) = run(schedule, CellKernel(gw, np.tanh, sigmoid), (h0,))
        assert_fast_close("split output", out, ref_out, np.arange(1, 10)[None, :, None])
        assert_fast_close("split state", state, ref_state, 9)
    assert split_everything == [n_threads] * 2


@pytest.mark.parametrize("version", [3, 2])
def test_split_equals_keras(split_everything, version):
    threads.set_num_threads(2)
    rng = np.random.default_rng(5)
    w, x, h0 = _case(rng, 16, 12, 4, 6, True)
    expected = keras_gru(version, w, x, initial_state=h0, return_sequences=True)
    assert_close(f"split vs Keras {version}", refgru.gru(x, w, initial_state=h0, return_sequences=True), expected)
    assert split_everything == [2]


def test_masked_calls_are_not_split(split_everything):
    """A mask needs the driver between steps, so the call runs in one thread, and still equals the unmasked rows."""
    threads.set_num_threads(2)
    rng = np.random.default_rng(6)
    w, x, _ = _case(rng, 4, 5, 2, 3, True)
    refgru.gru(x, w, mask=np.ones((4, 5), bool))
    assert split_everything == []


def test_blas_limits_are_restored_even_when_calls_overlap(split_everything):
    """Four threads calling gru() at once, each call split: the BLAS limits afterwards are those from before."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [lib["num_threads"] for lib in threadpoolctl.threadpool_info()]
    threads.set_num_threads(2)
    rng = np.random.default_rng(7)
    w, x, _ = _case(rng, 32, 40, 8, 16, True)
    expected = refgru.gru(x, w)
    results, errors = [], []

    def call():
        try:
            results.append(refgru.gru(x, w))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    workers = [threading.Thread(target=call) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors and len(results) == 4
    for result in results:
        np.testing.assert_array_equal(result, expected)
    assert [lib["num_threads"] for lib in threadpoolctl.threadpool_info()] == before
    assert threads._state["active"] == 0 and threads._state["limiter"] is None


def test_no_split_without_threadpoolctl(monkeypatch):
    """Without threadpoolctl nothing is split (two BLAS pools would contend for the cores)."""
    monkeypatch.setitem(threads._state, "controller", False)
    monkeypatch.setattr(threads, "MIN_ROWS", 1)
    monkeypatch.setattr(threads, "MIN_WORK", 1)
    threads.set_num_threads(4)
    try:
        assert threads.blocks(64, 100, 32) is None
    finally:
        threads.set_num_threads(None)


def test_blocks_respect_the_thresholds(monkeypatch):
    monkeypatch.setitem(threads._state, "controller", object())  # as if threadpoolctl were there
    threads.set_num_threads(2)
    try:
        assert threads.blocks(threads.MIN_ROWS * 2 - 1, 10**6, 64) is None          # a block would be too small
        assert threads.blocks(64, 1, 8) is None                                     # too little work
        assert threads.blocks(64, 1000, 64) == [slice(0, 32), slice(32, 64)]
        threads.set_num_threads(1)
        assert threads.blocks(64, 1000, 64) is None
    finally:
        threads.set_num_threads(None)


def test_environment_variable(monkeypatch):
    monkeypatch.setenv("REFGRU_NUM_THREADS", "3")
    assert threads.get_num_threads() == 3
    threads.set_num_threads(1)
    try:
        assert threads.get_num_threads() == 1      # set_num_threads wins over the environment
    finally:
        threads.set_num_threads(None)
    monkeypatch.setenv("REFGRU_NUM_THREADS", "lots")
    assert threads.get_num_threads() == threads._cores()


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "2"])
def test_set_num_threads_rejects(bad):
    raises("n|a positive int or None", refgru.set_num_threads, bad)
