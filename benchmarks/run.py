"""Time refgru's GRU against Keras (TensorFlow and NumPy backends), PyTorch and onnxruntime.

Usage::

    python -m benchmarks.run            # the full run, a few minutes
    python -m benchmarks.run --quick    # three small sizes, short budgets: a smoke test

Every engine group runs in its own subprocess (:mod:`benchmarks.engines`), on the same float32
weights (Keras layout, ``reset_after=True``, non-zero biases) and inputs. For each size the table
shows the minimum over repeated calls, each engine's time divided by refgru's, microseconds per
time step, GFLOP/s by the formula ``2 * B * T * 3H * (D + H)`` (the input projection and the
recurrent matmuls; element-wise work not counted) and the largest difference from refgru's output.
"numpy matmul only" times just those matmuls in NumPy (one ``(B*T, D) @ (D, 3H)`` and T
``(B, H) @ (H, 3H)``): the practical limit for a NumPy GRU on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = [(1, 100, 8, 32), (1, 1000, 8, 32), (8, 100, 16, 64), (32, 100, 16, 64), (64, 200, 64, 256),
         (128, 100, 32, 128), (256, 50, 128, 512)]
#: The two large sizes of issue 19's NumPy-limit and onnxruntime targets.
LARGE = [(64, 200, 64, 256), (256, 50, 128, 512)]
GROUPS = ["refgru", "keras-tensorflow", "refgru-model", "keras-numpy", "torch", "onnxruntime"]
MEMORY_SIZE = (1, 100_000, 8, 32)
REPO = Path(__file__).resolve().parent.parent


def flops(batch: int, steps: int, features: int, units: int) -> int:
    return 2 * batch * steps * 3 * units * (features + units)


def write_cases(workdir: Path, sizes) -> None:
    rng = np.random.default_rng(0)
    cases = []
    for i, (batch, steps, features, units) in enumerate(sizes):
        def uniform(shape, scale):
            return (rng.uniform(0.05, 1.0, shape) * rng.choice([-1, 1], shape) * scale).astype(np.float32)

        np.savez(workdir / f"case{i}.npz", kernel=uniform((features, 3 * units), 1 / np.sqrt(features)),
                 recurrent_kernel=uniform((units, 3 * units), 1 / np.sqrt(units)), bias=uniform((2, 3 * units), 0.5),
                 x=rng.normal(size=(batch, steps, features)).astype(np.float32))
        cases.append({"size": [batch, steps, features, units], "data": f"case{i}.npz"})
    (workdir / "cases.json").write_text(json.dumps(cases))


def run_group(group: str, workdir: Path, budget: float, min_runs: int, timeout: float,
              before: Path | None = None) -> dict:
    from benchmarks.engines import GROUP_ENV

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **GROUP_ENV.get(group, {})}
    if before is not None:
        env["REFGRU_BEFORE"] = str(before.resolve())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "benchmarks.engines", group, str(workdir), str(budget), str(min_runs)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"info": {}, "results": [], "error": f"timed out after {timeout:.0f} s"}
    path = workdir / f"{group}.json"
    if proc.returncode != 0 or not path.exists():
        return {"info": {}, "results": [], "error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    return json.loads(path.read_text())


def run_memory(return_sequences: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "benchmarks.memory", *map(str, MEMORY_SIZE), "1" if return_sequences else "0"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict[str, object]:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "OPENBLAS_*": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")} or "none set",
            "load average (1, 5, 15 min)": [round(v, 2) for v in os.getloadavg()]}


def table(sizes, groups: dict, workdir: Path) -> tuple[str, dict]:
    """The results table (markdown) and, per size, each engine's best time."""
    lines, best = [], {}
    for i, size in enumerate(sizes):
        batch, steps, features, units = size
        rows = [r for g in groups.values() for r in g["results"] if r["case"] == i]
        times = {r["engine"]: min(r["times"]) for r in rows if "times" in r}
        best[tuple(size)] = times
        ref_time = times.get("refgru")
        ref_out = next((np.load(workdir / r["output"]) for r in rows if r.get("engine") == "refgru"), None)
        lines += [f"\n(B, T, D, H) = {tuple(size)}: {flops(*size) / 1e6:.1f} MFLOP per call\n",
                  "| engine | min ms | median ms | runs | / refgru | µs/step | GFLOP/s | max abs diff vs refgru |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            if "times" not in r:
                lines.append(f"| {r.get('engine', '(group)')} | n/a: {r['error']} | | | | | | |")
                continue
            t = min(r["times"])
            diff = "-"
            if r.get("output") and ref_out is not None:
                diff = f"{float(np.max(np.abs(np.load(workdir / r['output']) - ref_out))):.1e}"
            ratio = f"{t / ref_time:.2f}" if ref_time else "-"
            lines.append(f"| {r['engine']} | {t * 1e3:.3f} | {np.median(r['times']) * 1e3:.3f} | {len(r['times'])} | "
                         f"{ratio} | {t / steps * 1e6:.1f} | {flops(*size) / t / 1e9:.2f} | {diff} |")
        for name, g in groups.items():
            if g.get("error"):
                lines.append(f"| {name} (group) | n/a: {g['error']} | | | | | | |")
    return "\n".join(lines), best


def efficiency(best: dict) -> list[str]:
    """refgru's GFLOP/s next to those of the same matmuls done alone in NumPy (the practical limit)."""
    lines = []
    for size, times in best.items():
        ref, limit = times.get("refgru"), times.get("numpy matmul only")
        if ref and limit:
            lines.append(f"- {size}: refgru {flops(*size) / ref / 1e9:.2f} GFLOP/s, NumPy matmul only "
                         f"{flops(*size) / limit / 1e9:.2f} GFLOP/s: {limit / ref:.0%}; "
                         f"{ref / size[1] * 1e6:.2f} µs per step")
    return lines


def targets(best: dict, memory: list[dict]) -> list[str]:
    """Each target of issue 19 with the measured numbers, MET or NOT MET."""
    out = []

    def verdict(ok, text):
        out.append(f"- {'MET' if ok else 'NOT MET'}: {text}")

    for size, times in best.items():
        ref = times.get("refgru")
        if ref is None:
            continue
        for name, t in times.items():
            if name.startswith("torch") or (name.startswith("onnxruntime") and size in LARGE):
                verdict(t / ref >= 1.0, f"{size} {name} / refgru = {t * 1e3:.3f} / {ref * 1e3:.3f} ms = "
                        f"{t / ref:.2f} (target >= 1)")
        limit = times.get("numpy matmul only")
        if limit and size in LARGE:
            verdict(limit / ref >= 0.85, f"{size} refgru at {limit / ref:.0%} of NumPy matmul GFLOP/s (target >= 85%)")
        if limit and size == (1, 1000, 8, 32):
            verdict(ref / limit <= 2.2, f"{size} refgru takes {ref / limit:.2f}x its matmuls alone (target <= 2.2x)")
    for m in memory:
        if "rss_growth_mb" in m and not m["return_sequences"]:
            verdict(m["rss_growth_mb"] < 50, f"T={m['size'][1]} peak RSS growth {m['rss_growth_mb']:.1f} MB "
                    f"(target < 50 MB), traced peak {m['traced_peak_mb']:.1f} MB")
    return out


def merge(into: dict, group: dict) -> dict:
    """Add one round's results of a group to the earlier rounds' (times of the same engine and case pooled)."""
    if not into:
        return group
    by_key = {(r["case"], r.get("engine")): r for r in into["results"]}
    for r in group["results"]:
        old = by_key.get((r["case"], r.get("engine")))
        if old is not None and "times" in old and "times" in r:
            old["times"] += r["times"]
        elif old is None:
            into["results"].append(r)
    into["error"] = into.get("error") or group.get("error")
    return into


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="three small sizes, 0.1 s per engine and size")
    parser.add_argument("--groups", default=",".join(GROUPS), help=f"comma-separated subset of {','.join(GROUPS)}")
    parser.add_argument("--budget", type=float, help="timed seconds per engine and size (default 1.5, quick 0.1)")
    parser.add_argument("--min-runs", type=int, help="timed calls at least (default 5, quick 2)")
    parser.add_argument("--sizes", help='sizes to run instead, e.g. "32,100,16,64;1,1000,8,32" (B,T,D,H)')
    parser.add_argument("--no-memory", action="store_true", help="skip the T=100000 memory probe")
    parser.add_argument("--json", type=Path, help="also write all results to this file")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the groups this many times, interleaved (A B C A B C ...); the minimum is over all")
    parser.add_argument("--before", type=Path,
                        help="a refgru tree to time as 'refgru (before)' (adds the refgru-before group)")
    args = parser.parse_args(argv)
    sizes = SIZES[:3] if args.quick else SIZES
    if args.sizes:
        sizes = [tuple(int(v) for v in size.split(",")) for size in args.sizes.split(";")]
    budget = args.budget if args.budget is not None else (0.1 if args.quick else 1.5)
    min_runs = args.min_runs if args.min_runs is not None else (2 if args.quick else 5)
    started = time.time()
    info = {"command": " ".join(["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])]),
            "machine at start": machine()}
    with tempfile.TemporaryDirectory(prefix="refgru-bench-") as tmp:
        workdir = Path(tmp)
        write_cases(workdir, sizes)
        names = args.groups.split(",")
        if args.before is not None and "refgru-before" not in names:
            names.insert(names.index("refgru") + 1 if "refgru" in names else 0, "refgru-before")
        groups: dict[str, dict] = {}
        info["load average per round (1 min)"] = []
        for round_ in range(args.rounds):
            for group in names:
                print(f"[{time.time() - started:5.0f} s] round {round_ + 1} {group} ...", file=sys.stderr, flush=True)
                groups[group] = merge(groups.get(group, {}),
                                      run_group(group, workdir, budget, min_runs, timeout=900, before=args.before))
            info["load average per round (1 min)"].append(round(os.getloadavg()[0], 2))
        print(f"[{time.time() - started:5.0f} s] memory ...", file=sys.stderr, flush=True)
        memory = [] if args.no_memory else [run_memory(False), run_memory(True)]
        text, best = table(sizes, groups, workdir)
    info["machine at end"] = {"load average (1, 5, 15 min)": [round(v, 2) for v in os.getloadavg()]}
    info["seconds"] = round(time.time() - started)
    info["versions"] = {name: g.get("info", {}) for name, g in groups.items()}
    print("## Setup\n\n```text\n" + json.dumps(info, indent=1) + "\n```")
    print("\n## Times (float32)" + text)
    print("\n## Memory (refgru.gru, float32, B=1, D=8, H=32)\n\n```text")
    print("\n".join(map(json.dumps, memory)) + "\n```")
    print("\n## refgru against NumPy's own matmul\n\n" + "\n".join(efficiency(best)))
    print("\n## Targets\n\n" + "\n".join(targets(best, memory)))
    if args.json:
        args.json.write_text(json.dumps({"info": info, "best": {str(k): v for k, v in best.items()},
                                         "memory": memory, "groups": groups}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
