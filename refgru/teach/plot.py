"""The gate plot of a :class:`refgru.teach.trace.Trace` (matplotlib, imported only here and only when called).

Up to :data:`LINE_UNITS` units and :data:`LINE_STEPS` steps, ``z``, ``r``, ``hh`` and ``h`` are line plots,
one line per unit, with the legend below the panels. Above either limit lines stop being readable, and
each of the four becomes a heatmap of units x steps. Each gate keeps one colour scale: ``z`` and ``r``
span [0, 1] (the range of sigmoid and hard_sigmoid; the data's range for other gate activations),
``hh`` and ``h`` share one scale symmetric around 0, so their colours compare. Masked steps (the
state is carried) are shaded grey in line plots and hatched in heatmaps, and tick labels are thinned to stay apart.
"""

from __future__ import annotations

import numpy as np

#: The largest trace drawn as line plots; larger ones are heatmaps.
LINE_UNITS, LINE_STEPS = 8, 30
#: The four plotted arrays, in panel order.
PANELS = ("z", "r", "hh", "h")
_BOUNDED = ("sigmoid", "hard_sigmoid")


def _titles(trace) -> dict[str, str]:
    return {"z": f"update gate z = {trace.recurrent_activation}(a_z)",
            "r": f"reset gate r = {trace.recurrent_activation}(a_r)",
            "hh": f"candidate hh = {trace.activation}(a_h)", "h": "state h = z * h_tm1 + (1 - z) * hh"}


def _shade_masked(ax, keep: np.ndarray, heatmap: bool) -> None:
    """Grey bands over the masked steps (``keep`` False); ``heatmap`` cells are centred on the step."""
    steps = np.flatnonzero(~keep)
    if steps.size == 0:
        return
    starts = steps[np.r_[True, np.diff(steps) > 1]]
    ends = steps[np.r_[np.diff(steps) > 1, True]]
    for a, b in zip(starts, ends, strict=True):
        if heatmap:  # hatching over the cells keeps their colours readable
            ax.axvspan(a - 0.5, b + 0.5, facecolor="none", edgecolor="0.15", hatch="///", lw=0, zorder=3)
        else:
            ax.axvspan(a - 0.5, b + 0.5, color="0.5", alpha=0.2, lw=0, zorder=0)


def _integer_ticks(axis, nbins: int) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=nbins, integer=True, min_n_ticks=1))


def _line_plots(fig, trace, s: dict) -> None:
    steps = np.arange(trace.steps)
    axes = fig.subplots(2, 2, sharex=True)
    marker = "o" if trace.steps <= 12 else None
    for ax, (name, title) in zip(axes.flat, _titles(trace).items(), strict=True):
        for j in range(trace.units):
            ax.plot(steps, s[name][:, j], marker=marker, ms=4, label=f"unit {j}")
        _shade_masked(ax, s["keep"], heatmap=False)
        ax.set_title(title, fontsize="medium")
        ax.grid(True, alpha=0.3)
        if name in ("z", "r") and trace.recurrent_activation in _BOUNDED:
            ax.set_ylim(-0.05, 1.05)
        _integer_ticks(ax.xaxis, 10)
    for ax in axes[1]:
        ax.set_xlabel("step t")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if not s["keep"].all():
        from matplotlib.patches import Patch

        handles.append(Patch(color="0.5", alpha=0.2))
        labels.append("masked step")
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5), fontsize="small")


def _heatmaps(fig, trace, s: dict) -> None:
    axes = fig.subplots(2, 2, sharex=True, sharey=True)
    values = {name: s[name].T for name in PANELS}  # (units, steps)
    span = float(max(np.nanmax(np.abs(values["hh"])), np.nanmax(np.abs(values["h"])), 1e-12))
    scales = {"hh": ("RdBu_r", -span, span), "h": ("RdBu_r", -span, span)}
    for name in ("z", "r"):
        if trace.recurrent_activation in _BOUNDED:
            scales[name] = ("viridis", 0.0, 1.0)
        else:
            gates = np.concatenate([values["z"], values["r"]])
            scales[name] = ("viridis", float(np.nanmin(gates)), float(np.nanmax(gates)))
    for ax, (name, title) in zip(axes.flat, _titles(trace).items(), strict=True):
        cmap, vmin, vmax = scales[name]
        image = ax.imshow(values[name], aspect="auto", interpolation="nearest", origin="lower", cmap=cmap,
                          vmin=vmin, vmax=vmax)
        _shade_masked(ax, s["keep"], heatmap=True)
        ax.set_title(title, fontsize="medium")
        fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
        _integer_ticks(ax.xaxis, 10)
        _integer_ticks(ax.yaxis, 8)
    for ax in axes[1]:
        ax.set_xlabel("step t")
    for ax in axes[:, 0]:
        ax.set_ylabel("unit j")
    if not s["keep"].all():
        from matplotlib.patches import Patch

        fig.legend([Patch(facecolor="white", edgecolor="0.15", hatch="///")], ["masked step (state carried)"],
                   loc="outside lower center",
                   fontsize="small")


def plot_trace(trace, path: str | None = None, sequence: int = 0):
    """Plot ``z``, ``r``, ``hh`` and ``h`` of one sequence: line plots for small traces, heatmaps for large ones.

    Line plots (one line per unit) up to :data:`LINE_UNITS` units and :data:`LINE_STEPS` steps, heatmaps
    (units x steps, one colour scale per gate) above; masked steps are shaded (hatched in heatmaps). Needs
    matplotlib (``pip install matplotlib``, or ``pip install '.[plot]'`` in a checkout). Returns the
    ``matplotlib.figure.Figure``; with ``path``, also writes it there (the format follows the file extension).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install matplotlib (or pip install '.[plot]' "
                          "from a refgru checkout)") from None
    s = trace.sequence(sequence)
    lines = trace.units <= LINE_UNITS and trace.steps <= LINE_STEPS
    fig = Figure(figsize=(10, 7) if lines else (12, 8), layout="constrained")
    (_line_plots if lines else _heatmaps)(fig, trace, s)
    kind = "" if lines else f", {trace.units} units x {trace.steps} steps"
    direction = ", go_backwards: t is the processing step" if trace.go_backwards else ""
    fig.suptitle(f"GRU gates over time (sequence {sequence}, reset_after={trace.reset_after}{kind}{direction})")
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


__all__ = ["LINE_STEPS", "LINE_UNITS", "PANELS", "plot_trace"]
