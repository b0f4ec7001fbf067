"""Draw the gate plots of the documentation site with refgru and matplotlib.

The site build runs :func:`render_plots` through ``docs/hooks.py``, so the pictures are redrawn from
the code at every build and never go stale. By hand::

    python docs/make_plots.py [OUT_DIR]        # default OUT_DIR: docs/img

It writes two PNG files, each a 2 x 2 grid of ``z``, ``r``, ``hh`` and ``h`` (one line per unit) over
the steps, drawn by :meth:`refgru.trace.Trace.plot`:

- ``seed_gates.png``: the seed question's ``GRU(2, activation="linear")`` on its 3-step input
  ``refgru.seed.X``;
- ``long_sequence_gates.png``: the same weights on a 40-step input ``x_t = 2 sin(2 pi t / 20)``.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

#: The longer input: 40 steps of one feature, two periods of a sine, shape (40, 1).
LONG_STEPS = 40


def long_input() -> np.ndarray:
    """``(LONG_STEPS, 1)`` float32: ``x_t = 2 sin(2 pi t / 20)``."""
    t = np.arange(LONG_STEPS, dtype=np.float32)
    return (2 * np.sin(2 * np.pi * t / 20)).astype(np.float32)[:, None]


def plots() -> dict[str, tuple[np.ndarray, str]]:
    """``file name -> (x (T, 1), title)`` of every plot this script draws."""
    from refgru import seed

    return {
        "seed_gates.png": (seed.X[0], "The seed GRU(2, activation='linear') on x = [0.5, -1, 2]"),
        "long_sequence_gates.png": (long_input(), f"The seed GRU on {LONG_STEPS} steps of x_t = 2 sin(2 pi t / 20)"),
    }


def render_plots() -> dict[str, bytes]:
    """``file name -> PNG bytes`` of every plot, drawn from what refgru computes now."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.ticker import MaxNLocator

    import refgru
    from refgru import seed

    rendered = {}
    for name, (x, title) in plots().items():
        trace = refgru.trace(x, seed.WEIGHTS, **seed.CONFIG)
        fig = trace.plot()
        fig.suptitle(title)
        if trace.steps > 12:  # one tick per step is unreadable on a long sequence
            for ax in fig.axes:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})  # same numbers, same bytes
        rendered[name] = buffer.getvalue()
    return rendered


def make_plots(out_dir: str | pathlib.Path) -> list[pathlib.Path]:
    """Write every plot into ``out_dir`` (created if missing) and return the paths written."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, png in render_plots().items():
        (out / name).write_bytes(png)
        written.append(out / name)
    return written


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent / "img"
    for path in make_plots(target):
        print(path)
