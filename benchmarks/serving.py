"""Serving overhead: ``refgru.load_model(p).predict(x)`` against the bare ``refgru.gru`` on the same arrays.

Usage::

    python -m benchmarks.serving [--rounds 5] [--before PATH]

The model is ``Embedding(100, 16) -> GRU(64) -> Dense(8)``, saved as ``.keras`` by Keras 3 (in a
subprocess, so TensorFlow's threads are gone before anything is timed); the input is one sequence
of 50 token ids (B = 1, T = 50). "bare" is ``refgru.gru(embedded, gru_weights)`` with the GRU's
``GRUWeights`` (what a loaded layer holds) on the embedded input, so the ratio is everything
``predict`` adds around the GRU: the Embedding look-up, the Dense layer, the layer walk and the
checks. Minimum over interleaved repeats; with ``--before``, the same numbers for another refgru
tree, timed in its own subprocess between the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BUILD = """
import sys, numpy as np, keras
rng = np.random.default_rng(0)
model = keras.Sequential([keras.Input((50,), dtype="int32"), keras.layers.Embedding(100, 16),
                          keras.layers.GRU(64), keras.layers.Dense(8)])
for layer in model.layers:
    layer.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()])
model.save(sys.argv[1])
"""

TIME = """
import json, sys, time, numpy as np, refgru
model = refgru.load_model(sys.argv[1])
x = np.random.default_rng(1).integers(0, 100, (1, 50)).astype(np.int32)
gru_layer = next(layer for layer in model.layers if layer.class_name == "GRU")
embedding = next(layer for layer in model.layers if layer.class_name == "Embedding")
emb = embedding.weights[0][x]
w = gru_layer.w
def best(f, n):
    f(); f()
    out = 1.0
    for _ in range(n):
        s = time.perf_counter(); f(); out = min(out, time.perf_counter() - s)
    return out
res = {"predict": [], "bare": []}
for _ in range(int(sys.argv[2])):
    res["predict"].append(best(lambda: model.predict(x), 300))
    res["bare"].append(best(lambda: refgru.gru(emb, w), 300))
print(json.dumps({k: min(v) for k, v in res.items()}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serving", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", type=Path, help="also time this refgru tree (alternating with this one)")
    args = parser.parse_args(argv)
    repo = Path(__file__).resolve().parent.parent
    trees = {"after": repo, **({"before": args.before.resolve()} if args.before else {})}
    with tempfile.TemporaryDirectory(prefix="refgru-serving-") as tmp:
        path = Path(tmp) / "model.keras"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
        subprocess.run([sys.executable, "-c", BUILD, str(path)], check=True, env=env, capture_output=True)
        best: dict[str, dict[str, float]] = {}
        loads = []
        for _ in range(args.rounds):
            for name, tree in trees.items():
                env = {**os.environ, "PYTHONPATH": str(tree)}
                proc = subprocess.run([sys.executable, "-c", TIME, str(path), "1"], env=env, capture_output=True,
                                      text=True, check=True, cwd=tmp)
                got = json.loads(proc.stdout.strip().splitlines()[-1])
                best[name] = {k: min(v, best.get(name, {}).get(k, v)) for k, v in got.items()}
            loads.append(round(os.getloadavg()[0], 2))
    print(f"load average (1 min) per round: {loads}")
    print("| refgru | predict µs | bare gru µs | predict / bare |\n|---|---:|---:|---:|")
    for name, t in best.items():
        print(f"| {name} | {t['predict'] * 1e6:.1f} | {t['bare'] * 1e6:.1f} | {t['predict'] / t['bare']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
