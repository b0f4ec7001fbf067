"""Streamed predict at scale: rows per second and peak RSS of refgru next to Keras ``predict``, in one run.

``python -m benchmarks.predict_scale [--rows 1000000] [--keras-rows 100000] [--dir /tmp]`` builds a Keras 3
``Input(50, 8) -> GRU(64)`` model (no Embedding), writes a ``(rows, 50, 8)`` float32 ``.npy`` (1.6 GB for a
million rows) in chunks, and runs, each in a fresh process that reports its peak resident memory
(``VmHWM`` from ``/proc/self/status``):

- refgru: the command line, ``refgru predict MODEL x.npy -o y.npy --quiet`` (run in-process through
  :func:`refgru.cli.main`: the input read in chunks, the ``(rows, 64)`` output written to a ``.npy`` as it
  comes; batch size from the default memory budget);
- Keras: ``model.predict(np.load(path, mmap_mode="r")[:keras_rows], batch_size=...)``, on the first
  ``keras_rows`` rows (Keras gathers all outputs in memory, and its pages of the mapped input stay
  resident), its rate then compared per row.

It prints one JSON line per run and a summary with the ratio; the files are deleted afterwards.
``python -m benchmarks.predict_scale child refgru|keras MODEL INPUT OUT ROWS BATCH`` is one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

T, F, UNITS = 50, 8, 64


def peak_rss_mb() -> float:
    """This process's peak resident set size (``VmHWM``), in MB."""
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024


def child(engine: str, model: str, inp: str, out: str, rows: int, batch: int) -> dict:
    start = time.perf_counter()
    if engine == "refgru":
        from refgru.cli import main as refgru_cli

        begin = time.perf_counter()  # the CLI loads the model too (a few ms)
        size = ["--batch-size", str(batch)] if batch else []
        code = refgru_cli(["predict", model, inp, "-o", out, "--quiet", *size])
        if code:
            raise SystemExit(code)
        done = len(np.load(out, mmap_mode="r"))
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras

        m = keras.saving.load_model(model)
        x = np.load(inp, mmap_mode="r")[:rows]
        begin = time.perf_counter()
        y = m.predict(x, batch_size=batch, verbose=0)
        done = len(y)
    seconds = time.perf_counter() - begin  # predict (reading and writing included for refgru), not imports
    if engine == "keras":
        np.save(out, y)
    return {"engine": engine, "rows": done, "predict_seconds": round(seconds, 2), "rows_per_s": round(done / seconds),
            "total_seconds": round(time.perf_counter() - start, 2), "peak_rss_mb": round(peak_rss_mb(), 1)}


def run_child(engine: str, model: str, inp: str, out: str, rows: int = 0, batch: int = 0) -> dict:
    """One run in a fresh process (so its peak RSS is its own); the parsed JSON line it prints."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.predict_scale", "child", engine, model, inp, out,
                           str(rows), str(batch)], capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise RuntimeError(f"{engine} run failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_input(path: str, rows: int, seed: int = 0, chunk: int = 50_000) -> None:
    """A ``(rows, 50, 8)`` float32 ``.npy`` written chunk by chunk (never whole in memory)."""
    rng = np.random.default_rng(seed)
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, T, F))
    for i in range(0, rows, chunk):
        array[i:i + chunk] = rng.standard_normal((min(chunk, rows - i), T, F), dtype=np.float32)
    array.flush()
    del array


def build_model(path: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((T, F)), keras.layers.GRU(UNITS, bias_initializer="random_normal")])
    model.save(path)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        engine, model, inp, out, rows, batch = argv[1:]
        print(json.dumps(child(engine, model, inp, out, int(rows), int(batch))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keras-rows", type=int, default=100_000)
    parser.add_argument("--keras-batch", type=int, default=1024)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="refgru-scale-") as tmp:
        model, inp = os.path.join(tmp, "gru64.keras"), os.path.join(tmp, "x.npy")
        build_model(model)
        write_input(inp, args.rows)
        print(json.dumps({"input": inp, "rows": args.rows, "input_mb": round(os.path.getsize(inp) / 2**20)}))
        ours = run_child("refgru", model, inp, os.path.join(tmp, "y_refgru.npy"))
        print(json.dumps(ours))
        keras_run = run_child("keras", model, inp, os.path.join(tmp, "y_keras.npy"), args.keras_rows,
                              args.keras_batch)
        print(json.dumps(keras_run))
        n = min(args.keras_rows, args.rows)
        diff = float(np.abs(np.load(os.path.join(tmp, "y_refgru.npy"), mmap_mode="r")[:n]
                            - np.load(os.path.join(tmp, "y_keras.npy"))).max())
        print(json.dumps({"max_abs_diff_vs_keras": diff, "keras_over_refgru_rows_per_s":
                          round(keras_run["rows_per_s"] / ours["rows_per_s"], 2),
                          "refgru_peak_rss_mb": ours["peak_rss_mb"], "keras_peak_rss_mb": keras_run["peak_rss_mb"],
                          "keras_rows": n}))


if __name__ == "__main__":
    main()
