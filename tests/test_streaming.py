"""refgru.streaming: batched and streamed predict equal the in-memory predict, memory stays bounded, progress, Dask.

The model files are built by ``tests/tiny_files.py`` with h5py (no Keras needed); the tiny model's
numbers themselves are checked against Keras in the model tests.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest
import tiny_files
from helpers import large_input

import refgru
from refgru import RefgruError
from refgru import streaming as st

ROOT = pathlib.Path(__file__).parent.parent
RNG = np.random.default_rng(11)
X = RNG.normal(size=(301, 4, 3)).astype("float32")


def model_file(tmp_path, name="m.keras", batch_shape=(None, 4, 3), stateful=False, features=3):
    config = tiny_files.keras_config()
    config["config"]["layers"][0]["config"]["batch_shape"] = list(batch_shape)
    config["config"]["layers"][1]["config"]["stateful"] = stateful
    gru = [RNG.normal(size=(features, 6)).astype("float32"), *tiny_files.GRU_ARRAYS[1:]]
    path = tmp_path / name
    path.write_bytes(tiny_files.keras_bytes(config, weights=tiny_files.keras_weights_bytes(gru=gru)))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return refgru.load_model(model_file(tmp_path_factory.mktemp("model")))


@pytest.mark.parametrize("batch", [1, 7, 300, 1000])
def test_batched_equals_in_memory(model, batch):
    whole = model.predict(X)
    assert np.allclose(st.predict_arrays(model.predict, X, batch, verbose=0), whole, rtol=0, atol=1e-6)
    same = np.concatenate([model.predict(X[i:i + batch]) for i in range(0, len(X), batch)])
    assert np.array_equal(st.predict_arrays(model.predict, X, batch, verbose=0), same)


@pytest.mark.parametrize("ext", [".npy", ".npz", ".csv"])
def test_predict_file_equals_in_memory(model, tmp_path, ext):
    if ext == ".csv":
        np.savetxt(tmp_path / "x.csv", X.reshape(len(X), -1), delimiter=",", fmt="%.9g")  # exact for float32
    else:
        (np.save if ext == ".npy" else np.savez)(tmp_path / f"x{ext}", X)
    for out in ("y.npy", "y.npz", "y.csv"):
        assert st.predict_file(model, tmp_path / f"x{ext}", tmp_path / out, batch_size=64, verbose=0) == len(X)
    expect = np.concatenate([model.predict(X[i:i + 64]) for i in range(0, len(X), 64)])
    assert np.array_equal(np.load(tmp_path / "y.npy"), expect)
    with np.load(tmp_path / "y.npz") as z:
        assert z.files == model.output_names and np.array_equal(z[z.files[0]], expect)
    assert np.array_equal(np.loadtxt(tmp_path / "y.csv", delimiter=",", dtype="float32", ndmin=2), expect)
    st.predict_file(model, tmp_path / f"x{ext}", tmp_path / "auto.npy", verbose=0)  # batch size from the budget
    assert np.allclose(np.load(tmp_path / "auto.npy"), model.predict(X), rtol=0, atol=1e-6)


def test_structured_outputs_kept():
    def fn(x):
        return {"twice": 2 * x, "total": x.sum(axis=(1, 2))}
    out = st.predict_arrays(fn, X, 50, verbose=0)
    assert list(out) == ["twice", "total"] and np.array_equal(out["twice"], 2 * X)
    pair = st.predict_arrays(lambda x: (x[:, 0], x[:, 1]), X, 64, verbose=0)
    assert isinstance(pair, tuple) and np.array_equal(pair[1], X[:, 1])
    listed = st.predict_arrays(lambda x: [x["a"][:, 0], x["b"]], {"a": X, "b": X[:, 0, 0]}, 64, verbose=0)
    assert isinstance(listed, list) and np.array_equal(listed[0], X[:, 0]) and np.array_equal(listed[1], X[:, 0, 0])


def test_nonfinite_rows_counted_over_the_whole_input_and_no_output(model, tmp_path):
    x = X.copy()
    x[[5, 150, 151, 300], 2, 1] = np.nan
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(RefgruError) as info:
        st.predict_file(model, tmp_path / "x.npy", tmp_path / "y.npy", batch_size=100, verbose=0)
    assert str(info.value) == ("INPUT: expected finite values (refgru refuses NaN and inf inputs; drop or fill "
                               "those rows), got 4 rows holding NaN or inf (row 5, 150, 151, 300)")
    assert sorted(os.listdir(tmp_path)) == ["x.npy"]


def test_model_predict_streams_from_a_budget_and_names_nonfinite_rows(model, monkeypatch):
    calls = []
    monkeypatch.setattr(st, "DEFAULT_BUDGET", 40 * st.measure_row_bytes(model, X[:256]))
    expect = model(X), model(X[:100])
    original = type(model)._run  # every batch, and the probe, run the graph once through _run
    monkeypatch.setattr(type(model), "_run", lambda self, feeds: calls.append(len(feeds[0])) or original(self, feeds))
    y = model.predict(X)  # 301 rows > PROBE_ROWS: measured once on 256 rows, then about 40 rows a batch
    assert calls[0] == 256 and 30 <= calls[1] <= 50 and sum(calls[1:]) == len(X), calls
    assert np.allclose(y, expect[0], rtol=0, atol=1e-6)
    calls.clear()
    assert np.array_equal(model.predict(X[:100]), expect[1]) and calls == [100]  # small: one batch
    bad = X.copy()
    bad[[7, 299], 0, 2] = np.inf
    with pytest.raises(RefgruError, match=r"^x: expected finite values .* 2 rows holding NaN or inf \(row 7, 299\)$"):
        model.predict(bad, batch_size=50)


def test_pick_batch_size(model):
    assert st.pick_batch_size(1000, 10**6) == 1000
    assert st.pick_batch_size(10, 10**9) == st.MAX_BATCH and st.pick_batch_size(10, 10**9, n_rows=33) == 33
    assert st.pick_batch_size(10**9, 10) == 1
    per_row = st.measure_row_bytes(model, X[:256])  # one batch, as pick_batch_size runs it
    assert X[:1].nbytes < per_row < 10_000
    assert st.pick_batch_size(model, 100 * per_row, sample=X) == 100
    with pytest.raises(RefgruError, match="sample: expected a few input rows"):
        st.pick_batch_size(model)


def test_stateful_model_keeps_row_order_and_is_refused_where_it_must_be(tmp_path):
    pytest.importorskip("dask")  # the refusal under Dask needs it
    stateful = refgru.load_model(model_file(tmp_path, batch_shape=(2, 4, 3), stateful=True))
    got = st.predict_arrays(stateful.predict, X[:8], 2, verbose=0)
    stateful.reset_states()
    expect = np.concatenate([stateful.predict(X[i:i + 2]) for i in range(0, 8, 2)])
    assert np.array_equal(got, expect) and not np.allclose(expect[2:4], stateful.predict(X[2:4]))
    with pytest.raises(RefgruError, match="batch_size: expected an explicit batch size for a stateful model"):
        st.pick_batch_size(stateful, sample=X)
    with pytest.raises(RefgruError, match="model: expected a stateless model under Dask"):
        st.predict_dask(stateful, None)
    da = pytest.importorskip("dask.array")
    with pytest.raises(RefgruError, match="model: expected a stateless model under Dask"):
        stateful.predict(da.from_array(X[:8], chunks=2))
    stateful.reset_states()
    assert np.array_equal(stateful.predict(X[:2]), expect[:2])  # batch_size=None: one batch, then state carried
    assert np.array_equal(stateful.predict(X[2:4], verbose=0), expect[2:4])


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("verbose, tty, shown", [("auto", False, False), (0, True, False), (1, False, True),
                                                 ("auto", True, True), (2, False, True)])
def test_progress_on_stderr(monkeypatch, verbose, tty, shown):
    err = FakeTTY() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    if verbose == "auto" and tty:  # the auto bar waits 0.5 s before it shows: make the run that long
        def fn(x):
            import time
            time.sleep(0.2)
            return x
    else:
        def fn(x):
            return x
    st.predict_arrays(fn, X, 100, verbose=verbose)
    text = err.getvalue()
    assert bool(text) == shown, text
    if shown:
        assert ("rows/s" in text) and (verbose == 2 or "301/301" in text or "%" in text), text


def test_bad_arguments_are_one_line_errors(model):
    pytest.importorskip("dask")  # one of the calls is predict_dask
    for call, match in [(lambda: st.predict_arrays(model.predict, X, 0), "batch_size: expected a positive int"),
                        (lambda: st.predict_arrays(model.predict, X, 5, verbose="yes"), "verbose: expected"),
                        (lambda: st.pick_batch_size(0), "budget_bytes: expected a positive number"),
                        (lambda: st.predict_dask(model, X), "x: expected a dask array")]:
        with pytest.raises(RefgruError, match=match) as info:
            call()
        assert "\n" not in str(info.value)


def test_peak_rss_of_a_streamed_run_on_a_large_input(tmp_path):
    """A 400 MB memory-mapped input through the streamed path stays far below its size (fresh process, VmHWM)."""
    path, rows, block = tmp_path / "x.npy", 25_000, 2500
    firsts = large_input(path, rows, block)
    model = model_file(tmp_path, batch_shape=(None, 4, 1000), features=1000)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.predict_scale", "child", "refgru", str(model),
                           str(path), str(tmp_path / "y.npy"), "0", "0"], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout.splitlines()[-1])
    assert run["rows"] == rows and run["peak_rss_mb"] < 300, run  # the input alone is 381 MB; measured 216
    y, m = np.load(tmp_path / "y.npy"), refgru.load_model(model)
    assert np.allclose(y[::block], m.predict(firsts),
                       rtol=0, atol=1e-5)  # float32 sums of 1000 products, in another order per batch size


def test_loaded_model_pickles_with_cloudpickle(model):
    cloudpickle = pytest.importorskip("cloudpickle")
    again = pickle.loads(cloudpickle.dumps(model))
    assert np.array_equal(again.predict(X), model.predict(X))


def test_dask_local_threads_structure_and_rechunk():
    da = pytest.importorskip("dask.array")

    class TwoOutputs:
        def predict(self, x):
            return {"seq": x[:, :2].astype("float64"), "last": x[:, -1, 0]}
    out = st.predict_dask(TwoOutputs(), da.from_array(X, chunks=(40, 2, 2)))
    assert list(out) == ["seq", "last"] and out["seq"].chunks[0] == (40,) * 7 + (21,)
    assert out["seq"].dtype == np.float64 and out["last"].dtype == np.float32
    assert np.array_equal(out["seq"].compute(), X[:, :2]) and np.array_equal(out["last"].compute(), X[:, -1, 0])


def test_dask_on_a_local_cluster_equals_numpy(model):
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("dask.distributed")
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, env=env) as cluster, distributed.Client(cluster) as client:
        lazy = st.predict_dask(model, da.from_array(X, chunks=(50, 2, 3)), batch_size=100)
        assert isinstance(lazy, da.Array) and lazy.chunks[0] == (100, 100, 100, 1)
        y = lazy.compute()
        through_predict = model.predict(da.from_array(X, chunks=(64, 4, 3)))  # Model.predict: lazy, as the blocks
        assert isinstance(through_predict, da.Array) and through_predict.chunks[0] == (64,) * 4 + (45,)
        assert np.array_equal(through_predict.compute(), st.predict_arrays(model, X, 64, verbose=0))
        where = client.run(lambda: __import__("refgru").__file__)
    assert all(pathlib.Path(f).is_relative_to(ROOT) for f in where.values()), where
    assert np.array_equal(y, st.predict_arrays(model.predict, X, 100, verbose=0))
    assert np.allclose(y, model.predict(X), rtol=0, atol=1e-6)
