"""Load time and cold start of refgru's model loader: ``python -m benchmarks.load [--keras]``.

1. ``load_model`` of a small GRU model (the tiny ``.keras`` and ``.h5`` files of tests/tiny_files.py, and a
   GRU(64) -> GRU(64) -> Dense ``.h5``), next to a bare h5py read of every dataset of the same file
   (``h5py.File`` + ``visititems`` + ``ds[()]``), in one run: best of ``--repeat`` runs each.
2. ``summary()`` of a 30,000-layer Sequential (linear in the number of layers).
3. Cold start: a fresh ``python -c "import refgru; refgru.load_model(p).predict(x)"``, next to the same with
   Keras 3 (``keras.saving.load_model``) when ``--keras`` is given; best of ``--cold`` runs each.

h5py is used only here, as the yardstick; refgru reads the files with pyfive.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import refgru  # noqa: E402
from refgru.model.config import parse_model_config  # noqa: E402
from refgru.model.load import build_model  # noqa: E402


def gru64_h5() -> bytes:
    """A legacy .h5 GRU(64, return_sequences) -> GRU(64) -> Dense(1), written with h5py as tf-keras does."""
    import json

    import h5py
    rng = np.random.default_rng(0)
    layers = [{"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [None, 12, 1],
                                                      "dtype": "float32"}}]
    shapes = {"gru_1": [(1, 192), (64, 192), (2, 192)], "gru_2": [(64, 192), (64, 192), (2, 192)],
              "dense": [(64, 1), (1,)]}
    for name in ("gru_1", "gru_2"):
        layers.append({"class_name": "GRU", "config": {"name": name, "units": 64, "reset_after": True,
                                                       "return_sequences": name == "gru_1"}})
    layers.append({"class_name": "Dense", "config": {"name": "dense", "units": 1}})
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": layers}})
        f.attrs["keras_version"] = "2.15.0"
        root = f.create_group("model_weights")
        for layer, arrays in shapes.items():
            group = root.create_group(layer)
            names = [f"{layer}/w{i}:0" for i in range(len(arrays))]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for n, s in zip(names, arrays, strict=True):
                group[n] = rng.normal(size=s).astype("float32")
        root.create_group("x").attrs["weight_names"] = np.array([], dtype="S1")
    return buffer.getvalue()


def h5py_read_all(path: str) -> None:
    import h5py

    def read(name, node):
        if isinstance(node, h5py.Dataset):
            node[()]
        for key in node.attrs:
            node.attrs[key]
    with h5py.File(path, "r") as f:
        for key in f.attrs:
            f.attrs[key]
        f.visititems(read)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def load_times(folder: str, repeat: int) -> None:
    from tiny_files import h5_bytes, keras_bytes

    refgru.load_model(h5_bytes())  # the first HDF5 read imports pyfive: not part of a load
    files = {"tiny.h5": h5_bytes(), "gru64.h5": gru64_h5(), "tiny.keras": keras_bytes()}
    for name, data in files.items():
        path = os.path.join(folder, name)
        with open(path, "wb") as handle:
            handle.write(data)
        ours = best(lambda p=path: refgru.load_model(p), repeat)
        if name.endswith(".h5"):
            bare = best(lambda p=path: h5py_read_all(p), repeat)
        else:
            import zipfile
            weights = zipfile.ZipFile(path).read("model.weights.h5")
            bare = best(lambda w=weights: h5py_read_all(io.BytesIO(w)), repeat)
        print(f"load_model {name:11s} {ours * 1e3:7.2f} ms   bare h5py read of every dataset {bare * 1e3:7.2f} ms"
              f"   ratio {ours / bare:5.2f}x")


def summary_time(n: int = 30_000) -> None:
    layers = [{"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [None, 3], "dtype": "float32"}}]
    layers += [{"class_name": "Dropout", "config": {"name": f"d{i}", "rate": 0.1}} for i in range(n)]
    graph = parse_model_config({"class_name": "Sequential", "config": {"name": "deep", "layers": layers}})
    model = build_model(graph, lambda entry: [], 2)
    start = time.perf_counter()
    text = model.summary(print_fn=None)
    elapsed = time.perf_counter() - start
    lookup = best(lambda: [model.get_layer(f"d{i}") for i in range(n)], 1)
    print(f"summary() of a {n}-layer Sequential: {elapsed:.3f} s ({len(text.splitlines())} lines); "
          f"{n} get_layer calls: {lookup:.3f} s")


COLD_REFGRU = "import numpy as np, refgru; refgru.load_model({p!r}).predict(np.zeros((1, 12, 1), 'float32'))"
COLD_KERAS = ("import numpy as np, keras; keras.saving.load_model({p!r}, compile=False)"
              ".predict(np.zeros((1, 12, 1), 'float32'), verbose=0)")


SAVE_KERAS = ("import keras; m = keras.Sequential([keras.Input((12, 1)), keras.layers.GRU(64, return_sequences=True), "
              "keras.layers.GRU(64), keras.layers.Dense(1)]); m.save({p!r})")


def cold_start(folder: str, runs: int, with_keras: bool) -> None:
    """Both on the same file: the hand-made GRU(64) .h5, or with ``--keras`` a Keras 3 saved GRU(64) .keras."""
    path = os.path.join(folder, "gru64.h5")
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if with_keras:
        path = os.path.join(folder, "gru64.keras")
        subprocess.run([sys.executable, "-c", SAVE_KERAS.format(p=path)], check=True, env=env, capture_output=True)
    cases = [("refgru", COLD_REFGRU)] + ([("keras 3", COLD_KERAS)] if with_keras else [])
    for label, code in cases:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code.format(p=path)], check=True, env=env, capture_output=True)
            times.append(time.perf_counter() - start)
        median = sorted(times)[len(times) // 2]
        print(f"cold start, {label:7s} on {os.path.basename(path)}: best {min(times):.3f} s, median {median:.3f} s "
              f"over {runs} fresh interpreters")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--keras", action="store_true", help="also time the cold start of Keras 3")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        load_times(folder, args.repeat)
        summary_time()
        cold_start(folder, args.cold, args.keras)


if __name__ == "__main__":
    main()
