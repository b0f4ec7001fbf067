"""Weights from text: read back the arrays that ``print()`` showed, never evaluating the text.

Two printouts are understood:

* NumPy's, as ``print(layer.get_weights())`` shows a Keras layer's weights: ``array(...)`` reprs in a
  list ``[array(...), ...]`` or one after another, wrapped anywhere, after an optional label such as
  ``Shape = ``. No ``dtype=`` means float64, as NumPy prints it::

      Shape = [array([[-0.64266175, -0.0870676 , ...]], dtype=float32), array(...), array(...)]

* torch's, as ``print(list(gru.parameters()))`` (``Parameter containing:`` blocks),
  ``print(gru.state_dict())`` (``OrderedDict([('weight_ih_l0', tensor(...)), ...])``) or a dict show
  a ``torch.nn.GRU``, with ``dtype=torch.float64``, ``requires_grad=``, ``device=``, ``grad_fn=``.
  No ``dtype=`` means float32, torch's default. torch prints 4 decimals by default; the arrays hold
  the printed values (``torch.set_printoptions(precision=10, sci_mode=True)`` prints float32 exactly).

The grammar and its limits (:data:`MAX_LABEL_CHARS`, :data:`MAX_DEPTH`) are in :mod:`refgru.weights_parser`.
"""

from __future__ import annotations

import numpy as np

from .errors import error
from .weights_parser import MAX_DEPTH, MAX_LABEL_CHARS, parse

#: The longest text read, in characters (about 1.3 million printed float32 numbers).
MAX_TEXT_CHARS = 16 * 2**20


def weights_from_text(text: str) -> list[np.ndarray] | dict[str, np.ndarray]:
    """The arrays in printed NumPy or torch output, in the printed order, layout and dtype.

    Arguments:
        text: what ``print(layer.get_weights())``, ``print(list(gru.parameters()))`` or
            ``print(gru.state_dict())`` showed; at most :data:`MAX_TEXT_CHARS` characters and
            :data:`MAX_DEPTH` nested brackets.

    Returns:
        A list of float arrays (Keras: ``[kernel (input_dim, 3u), recurrent_kernel (u, 3u), bias]``;
        torch parameters: ``weight_ih (3u, input_dim), weight_hh (3u, u), bias_ih, bias_hh``), or
        ``{name: array}`` for a printed ``OrderedDict``/dict such as a torch ``state_dict``.

    Raises :class:`RefgruError` naming ``text``, what was expected and where (line, column) for
    anything else: elided (``...``) or ragged arrays, integer dtypes, values out of the dtype's range.
    """
    if not isinstance(text, str):
        raise error("text", "a str holding printed arrays", text)
    if len(text) > MAX_TEXT_CHARS:
        line = text.count("\n", 0, MAX_TEXT_CHARS) + 1
        raise error("text", f"at most {MAX_TEXT_CHARS:,} characters",
                    got=f"{len(text):,} characters (the limit is passed on line {line})")
    return parse(text)


def infer_gru(arrays: list[np.ndarray]) -> dict:
    """The Keras GRU options that parsed ``get_weights()`` arrays imply.

    Arguments:
        arrays: ``[kernel (input_dim, 3u), recurrent_kernel (u, 3u)(, bias)]``; a ``(2, 3u)`` bias
            means ``reset_after=True`` (both rows are used), ``(3u,)`` means ``reset_after=False``.

    Returns:
        ``{"units": u, "input_dim": input_dim, "reset_after": bool or None, "use_bias": bool}``;
        ``reset_after`` is ``None`` without a bias, where the arrays cannot tell (Keras's default is True).
        ``GRUWeights.from_keras(arrays, reset_after=...)`` accepts the arrays with these options.
    """
    from .core.weights import GRUWeights  # the one place the shape rules live

    if isinstance(arrays, dict):
        raise error("arrays", "the list get_weights() returns, [kernel, recurrent_kernel(, bias)]",
                    got=f"a dict of {len(arrays)} arrays (a torch state_dict: use GRUWeights.from_torch)")
    if isinstance(arrays, (list, tuple)) and len(arrays) == 4:
        raise error("arrays", "2 or 3 arrays in Keras's layout, [kernel, recurrent_kernel(, bias)]",
                    got="4 arrays (torch's gru.parameters(): use GRUWeights.from_torch on the state_dict)")
    weights = GRUWeights.from_keras(arrays)
    return {"units": weights.units, "input_dim": weights.input_dim, "use_bias": weights.use_bias,
            "reset_after": weights.reset_after if weights.use_bias else None}


__all__ = ["MAX_DEPTH", "MAX_LABEL_CHARS", "MAX_TEXT_CHARS", "infer_gru", "weights_from_text"]
