"""The gate plot of a :class:`refgru.teach.trace.Trace` (matplotlib, imported only here and only when called)."""

from __future__ import annotations

import numpy as np


def plot_trace(trace, path: str | None = None, sequence: int = 0):
    """Plot ``z``, ``r``, ``hh`` and ``h`` of one sequence over the steps, one line per unit.

    Needs matplotlib (``pip install matplotlib``, or ``pip install '.[plot]'`` in a checkout). Returns the
    ``matplotlib.figure.Figure``; with ``path``, also writes it there (the format follows the file extension,
    e.g. ``.png``).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install matplotlib (or pip install '.[plot]' "
                          "from a refgru checkout)") from None
    s = trace.sequence(sequence)
    steps = np.arange(trace.steps)
    fig = Figure(figsize=(9, 6), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    titles = {"z": "update gate z", "r": "reset gate r", "hh": f"candidate hh = {trace.activation}(a_h)",
              "h": "state h = z * h_tm1 + (1 - z) * hh (the output)"}
    for ax, (name, title) in zip(axes.flat, titles.items(), strict=False):
        for j in range(trace.units):
            ax.plot(steps, s[name][:, j], marker="o", label=f"unit {j}")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        if name in ("z", "r"):
            ax.set_ylim(-0.05, 1.05)
    for ax in axes[1]:
        ax.set_xlabel("step t")
        ax.set_xticks(steps)
    axes[0, 0].legend(loc="best", fontsize="small")
    fig.suptitle(f"GRU gates over time (sequence {sequence}, reset_after={trace.reset_after})")
    if path is not None:
        fig.savefig(path)
    return fig
