"""``explain``: what each array of ``GRU.get_weights()`` is, which variant its shapes imply, and the math.

``explain(weights, **config)`` returns an :class:`Explanation`: structured fields (arrays, slices,
variant, bias usage, equations, notes) plus ``str()`` for a terminal and ``to_markdown()`` for docs,
both written by :mod:`refgru.teach.render`.
The equations and slice names are those of :mod:`refgru.core.cell` and :class:`refgru.GRUWeights`. A loaded
:class:`refgru.model.Model` gives a :class:`ModelExplanation`: one :class:`Explanation` per GRU in it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from ..core.options import resolve
from ..core.weights import GATES, GRUWeights
from . import render
from .render import VALUES_AUTO_LIMIT, format_array

ROLE = {"z": "update gate z", "r": "reset gate r", "h": "candidate hh"}


@dataclass(frozen=True)
class SliceInfo:
    """One named slice: ``name`` (e.g. ``"U_h"``), where it sits (``"recurrent_kernel[:, 4:6]"``),
    its ``shape``, its role in words, and its ``value`` (a view of the array)."""

    name: str
    where: str
    shape: tuple[int, ...]
    role: str
    value: np.ndarray


@dataclass(frozen=True)
class ArrayInfo:
    """One array of ``get_weights()``: its ``index`` in the list, ``name``, ``shape``, ``layout`` of
    its column blocks, what it ``does`` in words, and its ``slices``."""

    index: int
    name: str
    shape: tuple[int, ...]
    layout: tuple[str, ...]
    does: str
    slices: tuple[SliceInfo, ...]
    value: np.ndarray


@dataclass(frozen=True, eq=False, repr=False)
class Explanation:
    """The explanation of one GRU's weights. ``str()`` is plain text, :meth:`to_markdown` is Markdown.

    Attributes: ``label`` (layer name or None), ``weights`` (:class:`GRUWeights`), ``units``,
    ``input_dim``, ``reset_after``, ``activation``, ``recurrent_activation``, ``keras_version``,
    ``arrays`` (:class:`ArrayInfo` for each array), ``variant`` (which ``reset_after`` and why, one
    paragraph), ``reset_after_source`` (``"bias shape"``, ``"given"`` or ``"default"``), ``bias_usage``
    (which bias row goes into which equation), ``equations`` and ``notes`` (lines of text).
    """

    label: str | None
    weights: GRUWeights
    activation: str
    recurrent_activation: str
    keras_version: int
    reset_after_source: str
    variant: str
    arrays: tuple[ArrayInfo, ...]
    bias_usage: tuple[str, ...]
    equations: tuple[str, ...]
    notes: tuple[str, ...]

    units = property(lambda self: self.weights.units)
    input_dim = property(lambda self: self.weights.input_dim)
    reset_after = property(lambda self: self.weights.reset_after)

    def to_text(self, values: bool | None = None) -> str:
        """Plain text. ``values``: show each slice's numbers (default: when the arrays are small)."""
        return render.explanation_text(self, values)

    __str__ = to_text

    def __repr__(self) -> str:
        return (f"<Explanation of GRU{'' if self.label is None else ' ' + repr(self.label)}: units={self.units}, "
                f"input_dim={self.input_dim}, reset_after={self.reset_after} (from {self.reset_after_source})>")

    def _repr_html_(self) -> str:
        """HTML for Jupyter: the slice table, bias usage, equations and notes."""
        return render.explanation_html(self)

    def to_markdown(self, values: bool | None = None) -> str:
        """Markdown: a heading, the variant, one table of slices per array, bias usage, equations, notes."""
        return render.explanation_markdown(self, values)


def _cols(i: int, u: int) -> str:
    return f"{i * u}:{(i + 1) * u}"


def _kernel_info(w: GRUWeights) -> list[ArrayInfo]:
    u = w.units
    kernel = ArrayInfo(0, "kernel", w.kernel.shape, ("[ W_z | W_r | W_h ]",),
                       "input weights, multiplied by the input x_t",
                       tuple(SliceInfo(f"W_{g}", f"kernel[:, {_cols(i, u)}]", (w.input_dim, u),
                                       f"input weights of the {ROLE[g]}", getattr(w, f"W_{g}"))
                             for i, g in enumerate(GATES)), w.kernel)
    recurrent = ArrayInfo(1, "recurrent_kernel", w.recurrent_kernel.shape, ("[ U_z | U_r | U_h ]",),
                          "recurrent weights, multiplied by the previous state h_tm1",
                          tuple(SliceInfo(f"U_{g}", f"recurrent_kernel[:, {_cols(i, u)}]", (u, u),
                                          f"recurrent weights of the {ROLE[g]}", getattr(w, f"U_{g}"))
                                for i, g in enumerate(GATES)), w.recurrent_kernel)
    return [kernel, recurrent]


def _bias_info(w: GRUWeights) -> ArrayInfo | None:
    u = w.units
    if w.bias is None:
        return None
    if w.reset_after:
        slices = [SliceInfo(f"b_{g}", f"bias[0, {_cols(i, u)}]", (u,), f"input bias of the {ROLE[g]}",
                            getattr(w, f"b_{g}")) for i, g in enumerate(GATES)]
        slices += [SliceInfo(f"rb_{g}", f"bias[1, {_cols(i, u)}]", (u,),
                             f"recurrent bias of the {ROLE[g]}" + (", inside r * (...)" if g == "h" else ""),
                             getattr(w, f"rb_{g}")) for i, g in enumerate(GATES)]
        layout = ("row 0 = [ b_z | b_r | b_h ]     input bias, added to x_t @ kernel",
                  "row 1 = [ rb_z | rb_r | rb_h ]  recurrent bias, added to h_tm1 @ recurrent_kernel")
        does = "two bias rows; both are used at every step"
    else:
        slices = [SliceInfo(f"b_{g}", f"bias[{_cols(i, u)}]", (u,), f"input bias of the {ROLE[g]}",
                            getattr(w, f"b_{g}")) for i, g in enumerate(GATES)]
        layout = ("[ b_z | b_r | b_h ]  one bias, added to x_t @ kernel",)
        does = "one bias vector, added to the input part; there is no recurrent bias"
    return ArrayInfo(2, "bias", w.bias.shape, layout, does, tuple(slices), w.bias)


def _variant(w: GRUWeights, source: str) -> str:
    u = w.units
    if source == "bias shape" and w.reset_after:
        return (f"The bias has shape (2, {3 * u}) = (2, 3u). Keras creates a two-row bias only when "
                "reset_after=True, so a (2, 3u) bias means reset_after=True. Row 0 is the input bias, row 1 the "
                "recurrent bias, and both rows are used at every step: row 1 is not unused or optional. "
                "reset_after=True is the default of tf.keras since TF 2.0 and of Keras 3, and the form cuDNN computes.")
    if source == "bias shape":
        return (f"The bias has shape ({3 * u},) = (3u,). Keras creates a one-row bias only when reset_after=False, "
                "so this layer applies the reset gate before the recurrent matmul, (r * h_tm1) @ U_h, and has no "
                "recurrent bias. This is the form of standalone Keras 2 and of tf.keras in TF 1.x, where "
                "reset_after=False was the default (or did not exist yet).")
    given = "as given" if source == "given" else "assumed: the default of tf.keras since TF 2.0 and of Keras 3"
    return (f"reset_after={w.reset_after} ({given}). There is no bias array (use_bias=False), and without a bias the "
            "two variants have exactly the same arrays, so the shapes cannot tell them apart. They still compute "
            "different numbers: reset_after=True uses r * (h_tm1 @ U_h), reset_after=False uses (r * h_tm1) @ U_h. "
            "Take reset_after from the layer's config.")


def _bias_usage(w: GRUWeights) -> list[str]:
    if w.bias is None:
        return ["No bias (use_bias=False): no b or rb terms in any equation."]
    if w.reset_after:
        usage = [
            "Row 0, the input bias [b_z | b_r | b_h], is added to x_t @ W in all three pre-activations.",
            "Row 1, the recurrent bias [rb_z | rb_r | rb_h], is added to h_tm1 @ U: rb_z and rb_r next to "
            "h_tm1 @ U_z and h_tm1 @ U_r before the gate activation, and rb_h inside r * (h_tm1 @ U_h + rb_h), so "
            "the reset gate scales it.",
            "Both rows are used. b_z + rb_z and b_r + rb_r act as one bias each, but rb_h cannot be merged into "
            "b_h because r multiplies it.",
        ]
    else:
        usage = [
            "The one bias [b_z | b_r | b_h] is added to the input part x_t @ W of all three pre-activations: "
            "b_z to z's, b_r to r's, b_h to the candidate's.",
            "There is no recurrent bias: h_tm1 @ U_z and h_tm1 @ U_r enter without one, and U_h multiplies "
            "r * h_tm1.",
        ]
    if not np.any(w.bias):
        usage.append("Here every bias entry is 0 (Keras initialises biases with zeros), so the bias adds 0 "
                     "until the layer is trained; it is used all the same.")
    return usage


def _equations(w: GRUWeights, act: str, ract: str) -> list[str]:
    b = {g: (f" + b_{g}" if w.use_bias else "") for g in GATES}
    rb = {g: (f" + rb_{g}" if w.use_bias and w.reset_after else "") for g in GATES}
    rec_h = f"r * (h_tm1 @ U_h{rb['h']})" if w.reset_after else "(r * h_tm1) @ U_h"
    lines = [
        f"z  = {ract}(x_t @ W_z{b['z']} + h_tm1 @ U_z{rb['z']})",
        f"r  = {ract}(x_t @ W_r{b['r']} + h_tm1 @ U_r{rb['r']})",
        f"hh = {act}(x_t @ W_h{b['h']} + {rec_h})",
        "h  = z * h_tm1 + (1 - z) * hh",
    ]
    width = max(map(len, lines))
    tags = ["update gate", "reset gate", "candidate state", "new state = output"]
    return [f"{line:<{width}}   # {tag}, (B, {w.units})" for line, tag in zip(lines, tags, strict=False)]


def _notes(w: GRUWeights, act: str, ract: str, keras_version: int) -> list[str]:
    notes = [
        "There is no output gate. A GRU has two gates, the update gate z and the reset gate r, plus the "
        "candidate state hh; the third column block (W_h, U_h, b_h) belongs to the candidate. The output of a "
        "GRU is its state h. Output gates belong to the LSTM.",
        "z weights the old state: z near 1 keeps h_tm1, z near 0 takes the candidate hh (Keras's convention; "
        "some papers swap z and 1 - z).",
        "reset_after is about where r acts, not about extra gates: r * (h_tm1 @ U_h + rb_h) after the matmul "
        "(True) or (r * h_tm1) @ U_h before it (False).",
    ]
    if "hard_sigmoid" in (act, ract):
        form = ("relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1)" if keras_version == 3 else "clip(0.2 * x + 0.5, 0, 1)")
        other = "tf-keras (keras_version=2) uses clip(0.2 * x + 0.5, 0, 1)" if keras_version == 3 else \
            "Keras 3 uses relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1)"
        notes.append(f"hard_sigmoid depends on the Keras version: this explanation uses Keras {keras_version}'s "
                     f"{form}; {other}. The two give different numbers.")
    return notes


@dataclass(frozen=True, eq=False, repr=False)
class ModelExplanation:
    """The explanations of every GRU of a loaded model, in layer order (Bidirectional halves labelled
    ``<name>/forward`` and ``<name>/backward``). ``str()`` is plain text, :meth:`to_markdown` Markdown."""

    name: str
    layers: tuple[Explanation, ...]

    def to_text(self, values: bool | None = None) -> str:
        head = f"Model {self.name!r}: {len(self.layers)} GRU layer{'s' if len(self.layers) != 1 else ''}"
        return "\n\n".join([head, *(e.to_text(values) for e in self.layers)])

    __str__ = to_text

    def _repr_html_(self) -> str:
        head = f"<h3>Model {html.escape(self.name)}: {len(self.layers)} GRU layer(s)</h3>"
        return head + "\n".join(e._repr_html_() for e in self.layers)

    def to_markdown(self, values: bool | None = None) -> str:
        return "\n".join([f"## Model `{self.name}`", "", *(e.to_markdown(values) for e in self.layers)])

    def __repr__(self) -> str:
        return f"<ModelExplanation of {self.name!r}: {', '.join(repr(e.label) for e in self.layers)}>"


def explain(weights, *, label: str | None = None, **options) -> Explanation | ModelExplanation:
    """Explain the arrays of ``GRU.get_weights()``, or every GRU of a loaded model.

    Arguments:
        weights: ``[kernel (input_dim, 3u), recurrent_kernel (u, 3u), bias]`` with bias ``(2, 3u)``,
            ``(3u,)`` or absent, a :class:`GRUWeights`, or a :class:`refgru.model.Model`
            (``refgru.load_model(path)``), whose GRUs are explained with their own options.
        label: a name for the layer (e.g. ``"gru"`` or ``"bidirectional/forward"``), shown in the title.
        options: the layer's options as in :func:`refgru.gru` (``reset_after`` ``None`` infers it from
            the bias shape; ``activation``, ``recurrent_activation`` and ``keras_version`` appear in
            the equations), for instance the options ``Model.gru_layers()`` returns.

    Returns:
        An :class:`Explanation` (a :class:`ModelExplanation` for a model); ``str()`` gives text,
        ``.to_markdown()`` Markdown.
    """
    gru_layers = getattr(weights, "gru_layers", None)
    if callable(gru_layers) and not isinstance(weights, (GRUWeights, list, tuple)):
        return ModelExplanation(str(getattr(weights, "name", "model")),
                                tuple(explain(w, label=name, **config) for name, w, config in gru_layers()))
    opts = resolve(**options)
    given = opts.reset_after is not None or isinstance(weights, GRUWeights)
    w = opts.bind(weights)
    act, ract, keras_version = opts.activation.name, opts.recurrent_activation.name, opts.keras_version
    source = "bias shape" if w.use_bias else ("given" if given else "default")
    arrays = _kernel_info(w)
    bias = _bias_info(w)
    if bias is not None:
        arrays.append(bias)
    return Explanation(label=label, weights=w, activation=act, recurrent_activation=ract, keras_version=keras_version,
                       reset_after_source=source, variant=_variant(w, source), arrays=tuple(arrays),
                       bias_usage=tuple(_bias_usage(w)), equations=tuple(_equations(w, act, ract)),
                       notes=tuple(_notes(w, act, ract, keras_version)))


__all__ = ["VALUES_AUTO_LIMIT", "ArrayInfo", "Explanation", "ModelExplanation", "SliceInfo", "explain",
           "format_array"]
