"""Plot each engine's time divided by refgru's across the sizes of one benchmark run.

Usage::

    python -m benchmarks.run --json results.json ...
    python -m benchmarks.plot results.json docs/img/benchmark_ratios.png

Above 1 means refgru is faster. The y axis is logarithmic (Keras is 1-1000x slower, onnxruntime at
B = 1 about 10x faster), with a line at 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def ratios(results: dict) -> tuple[list[str], dict[str, list[float | None]]]:
    """``(size labels, engine -> [time / refgru time per size])`` from a ``--json`` file's content."""
    best = {tuple(json.loads(k.replace("(", "[").replace(")", "]"))): v for k, v in results["best"].items()}
    sizes = list(best)
    engines = sorted({name for times in best.values() for name in times} - {"refgru"})
    out = {}
    for name in engines:
        out[name] = [best[s][name] / best[s]["refgru"] if name in best[s] and "refgru" in best[s] else None
                     for s in sizes]
    return [f"B={b} T={t}\nD={d} H={h}" for b, t, d, h in sizes], out


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    labels, by_engine = ratios(results)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    xs = range(len(labels))
    for name, values in by_engine.items():
        points = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
        style = "--" if name.startswith(("keras", "numpy")) else "-"
        width = 2.5 if name.startswith(("torch", "onnxruntime", "refgru")) else 1.2
        ax.plot(*zip(*points, strict=True), style, marker="o", linewidth=width, label=name)
    ax.axhline(1, color="black", linewidth=1)
    ax.set_yscale("log")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("engine time / refgru time (above 1: refgru faster)")
    load = results["info"].get("load average per round (1 min)")
    ax.set_title(f"refgru.gru against each engine, float32, min of repeated calls (load average per round: {load})",
                 fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None})


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: python -m benchmarks.plot RESULTS.json OUT.png", file=sys.stderr)
        return 2
    plot(json.loads(Path(argv[0]).read_text()), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
