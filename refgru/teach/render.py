"""Text and Markdown for the teaching tools: the step table of a trace and the explanation of the weights."""

from __future__ import annotations

import textwrap

import numpy as np

#: The columns of a step table, without and with the input/recurrent parts.
TABLE_COLUMNS = ("a_z", "z", "a_r", "r", "a_h", "hh")
PARTS_COLUMNS = ("x_z", "rec_z", "a_z", "z", "x_r", "rec_r", "a_r", "r", "x_h", "rec_h", "a_h", "hh")


def format_array(value: np.ndarray) -> str:
    """One line: ``[0.5, -1]`` or ``[[0.5, -1], [2, 0]]``, 6 significant digits."""
    value = np.asarray(value)
    if value.ndim == 0:
        return f"{float(value):.6g}"
    return "[" + ", ".join(format_array(v) for v in value) + "]"


def wrap(text: str, first: str, rest: str | None = None, width: int = 100) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=first if rest is None else rest,
                         break_on_hyphens=False)


def trace_rows(trace, sequence: int = 0, parts: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the step table of one sequence: one row per step ``t`` and unit ``j``.

    A masked step's ``t`` is marked ``*``: its cell values are computed and discarded, and its ``h``
    is the layer's output there (the previous output, or zeros with ``zero_output_for_mask``).
    """
    s = trace.sequence(sequence)
    names = ["h_tm1", *(PARTS_COLUMNS if parts else TABLE_COLUMNS), "h"]
    header = ["t", "x_t", "j", *names]
    rows = []
    for t in range(trace.steps):
        x_t = s["x"][t]
        shown = ", ".join(f"{v:.4g}" for v in x_t[:4]) + (", ..." if x_t.size > 4 else "")
        step = f"{t}" if s["keep"][t] else f"{t}*"
        for j in range(trace.units):
            first = j == 0
            rows.append([step if first else "", f"[{shown}]" if first else "", str(j)]
                        + [f"{float(s[n][t, j]):+.4f}" for n in names])
    return header, rows


def trace_table(trace, sequence: int = 0, parts: bool = False) -> str:
    """A plain-text step table of one sequence, with a legend of the columns."""
    header, rows = trace_rows(trace, sequence, parts)
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    flags = "".join(f", {name}=True" for name in ("go_backwards", "zero_output_for_mask") if getattr(trace, name))
    title = (f"sequence {sequence} of {trace.batch}: reset_after={trace.reset_after}, "
             f"activation={trace.activation!r}, recurrent_activation={trace.recurrent_activation!r}, "
             f"keras_version={trace.keras_version}{flags}")
    return "\n".join([title, line(header), line(["-" * w for w in widths]), *map(line, rows), *trace_legend(trace)])


def trace_legend(trace) -> list[str]:
    """What the columns of a step table mean, in the equations of the trace's variant."""
    rec_h = "r * (h_tm1 @ U_h + rb_h)" if trace.reset_after else "(r * h_tm1) @ U_h"
    rb = " + rb_{g}" if trace.reset_after else ""
    ract = trace.recurrent_activation
    lines = [
        "columns: t = step, x_t = input, j = unit, h_tm1 = state before the step (h0 = zeros unless given)",
        f"  a_z = x_t @ W_z + b_z + h_tm1 @ U_z{rb.format(g='z')}   z = {ract}(a_z)   update gate",
        f"  a_r = x_t @ W_r + b_r + h_tm1 @ U_r{rb.format(g='r')}   r = {ract}(a_r)   reset gate",
        f"  a_h = x_t @ W_h + b_h + {rec_h}   hh = {trace.activation}(a_h)   candidate",
        "  h = z * h_tm1 + (1 - z) * hh   new state (= the layer's output at this step)",
    ]
    if not trace.keep.all():
        repeat = "zeros" if trace.zero_output_for_mask else "the previous output (zeros before the first unmasked step)"
        lines.append(f"  t* = masked step: the state is carried (h_tm1 of the next step), h shows the output, {repeat}")
    if trace.go_backwards:
        lines.append("  go_backwards: t counts processing steps; step t reads input step T - 1 - t")
    return lines
