"""Memory probe: ``python -m benchmarks.memory B T D H RETURN_SEQUENCES`` prints one JSON line.

It runs ``refgru.gru`` once on a float32 ``(B, T, D)`` input in a fresh process and reports:

- ``rss_growth_mb``: how far the peak resident set size rose above the resident size just before the
  call, after the input, the weights and a small warm-up call already exist. The peak is reset first
  (``/proc/self/clear_refs``, Linux) and read as ``VmHWM``; where that is impossible it is
  ``resource.getrusage(...).ru_maxrss``, which can only overstate the growth (``peak_reset`` says which);
- ``traced_peak_mb``: the peak of NumPy's allocations during a second call, seen by ``tracemalloc``
  (NumPy reports its array buffers to it);
- ``seconds`` and ``us_per_step`` of the first call.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc

import numpy as np


def _status_mb(key: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith(key + ":"))
        return int(line.split()[1]) / 1024  # kB
    except (OSError, StopIteration):
        return None


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux ``clear_refs`` value 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def rss_mb() -> float:
    current = _status_mb("VmRSS")
    return current if current is not None else peak_mb()


def peak_mb() -> float:
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB


def main(argv: list[str]) -> int:
    import refgru

    batch, steps, features, units = (int(a) for a in argv[:4])
    return_sequences = argv[4] == "1"
    rng = np.random.default_rng(0)
    weights = [(rng.uniform(-0.5, 0.5, s)).astype(np.float32) for s in
               [(features, 3 * units), (units, 3 * units), (2, 3 * units)]]
    x = rng.normal(size=(batch, steps, features)).astype(np.float32)
    refgru.gru(x[:, :10], weights, return_sequences=return_sequences)  # warm-up: imports, first allocations
    peak_reset = reset_peak()
    before = rss_mb() if peak_reset else peak_mb()
    start = time.perf_counter()
    out = refgru.gru(x, weights, return_sequences=return_sequences)
    seconds = time.perf_counter() - start
    after = peak_mb()
    del out
    tracemalloc.start()
    out = refgru.gru(x, weights, return_sequences=return_sequences)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"size": [batch, steps, features, units], "return_sequences": return_sequences,
                      "input_mb": x.nbytes / 2**20, "output_mb": out.nbytes / 2**20, "dtype": str(out.dtype),
                      "rss_before_mb": before, "rss_growth_mb": after - before, "peak_reset": peak_reset,
                      "traced_peak_mb": traced_peak / 2**20, "seconds": seconds, "us_per_step": seconds / steps * 1e6}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
