"""Text, Markdown and HTML for the teaching tools: the step table of a trace and the explanation of the weights."""

from __future__ import annotations

import html
import textwrap

import numpy as np

#: The columns of a step table, without and with the input/recurrent parts.
TABLE_COLUMNS = ("a_z", "z", "a_r", "r", "a_h", "hh")
PARTS_COLUMNS = ("x_z", "rec_z", "a_z", "z", "x_r", "rec_r", "a_r", "r", "x_h", "rec_h", "a_h", "hh")
#: Arrays with at most this many elements have their values shown by default.
VALUES_AUTO_LIMIT = 60


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


#: The most step-table rows an HTML trace shows (``str(trace)`` has them all); the rest are counted, not hidden.
HTML_ROWS = 400


def _table_html(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="refgru"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _show_values(e, values: bool | None) -> bool:
    return max(a.value.size for a in e.arrays) <= VALUES_AUTO_LIMIT if values is None else bool(values)


def _title(e) -> str:
    name = f"GRU {e.label!r}" if e.label else "GRU"
    return (f"{name}: units u = {e.units}, input_dim = {e.input_dim}, dtype {e.weights.dtype}, "
            f"activation={e.activation!r}, recurrent_activation={e.recurrent_activation!r}")


def explanation_text(e, values: bool | None = None) -> str:
    """Plain text of an :class:`~refgru.teach.explain.Explanation`; ``values``: show each slice's numbers
    (``None``: when no array has more than :data:`VALUES_AUTO_LIMIT` elements)."""
    show = _show_values(e, values)
    out = [_title(e), "", f"Variant: reset_after={e.reset_after}", *wrap(e.variant, "  "), ""]
    out.append(f"get_weights() holds {len(e.arrays)} arrays. Their columns are 3 blocks of width u = "
               f"{e.units}, in Keras's gate order [z, r, h]:")
    out.append("z = update gate, r = reset gate, h = candidate state hh.")
    for a in e.arrays:
        out += ["", f"[{a.index}] {a.name} {a.shape}: {a.does}"]
        out += [f"    {row}" for row in a.layout]
        width = max(len(s.where) for s in a.slices)
        role = max(len(s.role) for s in a.slices)
        shape = max(len(str(s.shape)) for s in a.slices)
        for s in a.slices:
            shown = f"  = {format_array(s.value)}" if show else ""
            row = f"    {s.name:<5} {s.where:<{width}}  {str(s.shape):<{shape}}  {s.role:<{role}}{shown}"
            out.append(row.rstrip())
    out += ["", "Which bias goes where:"]
    out += [line for usage in e.bias_usage for line in wrap(usage, "  - ", "    ")]
    out += ["", f"Equations of one step (reset_after={e.reset_after}); x_t is (B, {e.input_dim}), "
            f"h_tm1 is (B, {e.units}):"] + [f"  {line}" for line in e.equations]
    out += ["", "Notes:"] + [line for note in e.notes for line in wrap(note, "  - ", "    ")]
    return "\n".join(out)


def explanation_markdown(e, values: bool | None = None) -> str:
    """Markdown of an :class:`~refgru.teach.explain.Explanation`: a heading, the variant, one table of slices
    per array, bias usage, equations, notes; ``values`` as in :func:`explanation_text`."""
    show = _show_values(e, values)
    out = [f"### {_title(e)}", "", f"**Variant: `reset_after={e.reset_after}`.** {e.variant}", ""]
    for a in e.arrays:
        out += [f"#### `[{a.index}]` `{a.name}` {a.shape}", "", a.does[0].upper() + a.does[1:] + ":", ""]
        out += [f"- `{row}`" for row in a.layout] + [""]
        out += ["| slice | where | shape | role |" + (" value |" if show else ""),
                "|---|---|---|---|" + ("---|" if show else "")]
        for s in a.slices:
            value = f" `{format_array(s.value)}` |" if show else ""
            out.append(f"| `{s.name}` | `{s.where}` | {s.shape} | {s.role} |{value}")
        out.append("")
    out += ["#### Which bias goes where", ""] + [f"- {line}" for line in e.bias_usage]
    out += ["", "#### Equations", "", "```text", *e.equations, "```", "", "#### Notes", ""]
    out += [f"- {note}" for note in e.notes]
    return "\n".join(out) + "\n"


def explanation_html(e, values: bool | None = None) -> str:
    """HTML of an :class:`~refgru.teach.explain.Explanation`: the slice table, bias usage, equations and notes."""
    show = _show_values(e, values)
    header = ["array", "slice", "where", "shape", "role"] + (["value"] if show else [])
    rows = [[f"[{a.index}] {a.name} {a.shape}", s.name, s.where, str(s.shape), s.role]
            + ([format_array(s.value)] if show else []) for a in e.arrays for s in a.slices]
    layout = "".join(f"<li><code>{html.escape(a.name)}</code>: {html.escape(a.does)}; "
                     + "; ".join(f"<code>{html.escape(row)}</code>" for row in a.layout) + "</li>" for a in e.arrays)
    parts = [f"<h4>{html.escape(_title(e))}</h4>",
             f"<p><b>Variant: <code>reset_after={e.reset_after}</code>.</b> {html.escape(e.variant)}</p>",
             f"<ul>{layout}</ul>", _table_html(header, rows),
             "<p><b>Which bias goes where</b></p><ul>" + "".join(f"<li>{html.escape(u)}</li>" for u in e.bias_usage)
             + "</ul>", "<p><b>Equations</b></p><pre>" + html.escape("\n".join(e.equations)) + "</pre>",
             "<p><b>Notes</b></p><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in e.notes) + "</ul>"]
    return "<div>" + "\n".join(parts) + "</div>"


def trace_html(trace, parts: bool = False) -> str:
    """HTML of a :class:`~refgru.teach.trace.Trace`: per sequence, the equations and the step table."""
    out, shown = [], 0
    for b in range(trace.batch):
        header, rows = trace_rows(trace, b, parts)
        title = trace_table(trace, b, parts).splitlines()[0]
        keep = rows[: max(0, HTML_ROWS - shown)]
        shown += len(keep)
        out.append(f"<p><b>{html.escape(title)}</b></p>")
        if keep:
            out.append(_table_html(header, keep))
        if len(keep) < len(rows):
            out.append(f"<p>{len(rows) - len(keep)} more rows of sequence {b} (print(trace) shows every row)</p>")
    legend = "<pre>" + html.escape("\n".join(trace_legend(trace))) + "</pre>"
    return "<div>" + legend + "\n".join(out) + "</div>"
