"""``onnx_gru`` (``refgru.onnx.run``): run one ONNX ``GRU`` node (opsets 7-22) in NumPy, on refgru's sequence driver.

The node's attributes map onto :func:`refgru.gru` as follows::

    ONNX                                     refgru.gru
    W[d], R[d], B[d], linear_before_reset    GRUWeights.from_onnx(...)   (1 = reset_after=True)
    activations [f, g] per direction         recurrent_activation = f (z, r), activation = g (hh)
    activation_alpha / activation_beta       the parameters of f and g, read as onnxruntime reads them
    clip                                     f(clip(a)) and g(clip(a)): the input of every activation
    direction reverse / bidirectional        go_backwards=True for the reverse direction
    sequence_lens                            mask[b, t] = t < sequence_lens[b], zero_output_for_mask=True
    initial_h[d]                             initial_state
    layout 0 / 1                             X (T, B, F) / (B, T, F); refgru works in (B, T, F)

onnxruntime consumes ``activation_alpha`` (and ``activation_beta``) in the order of ``activations``, one
value for each function that takes an alpha (beta), and gives the others these defaults: LeakyRelu
alpha 0.01, HardSigmoid alpha 0.2 and beta 0.5, Elu alpha 1; every other alpha or beta is 0.

The node is read by :mod:`refgru.onnx.node`; ``onnx`` is imported only to read the protos.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from .. import GRUWeights, get_activation, gru
from ..errors import error
from .node import DIRECTIONS, find_node, node_values, read_attributes

_sigmoid = get_activation("sigmoid")

#: ONNX activation (lower case, as onnxruntime matches it) -> (NumPy function of (a, alpha, beta),
#: takes alpha, takes beta, default alpha, default beta).
FUNCTIONS: dict[str, tuple[Callable, bool, bool, float, float]] = {
    "relu": (lambda a, al, be: np.maximum(a, 0), False, False, 0.0, 0.0),
    "tanh": (lambda a, al, be: np.tanh(a), False, False, 0.0, 0.0),
    "sigmoid": (lambda a, al, be: _sigmoid(a), False, False, 0.0, 0.0),
    "affine": (lambda a, al, be: al * a + be, True, True, 0.0, 0.0),
    "leakyrelu": (lambda a, al, be: np.where(a >= 0, a, al * a), True, False, 0.01, 0.0),
    "thresholdedrelu": (lambda a, al, be: np.where(a > al, a, 0), True, False, 0.0, 0.0),
    "scaledtanh": (lambda a, al, be: al * np.tanh(be * a), True, True, 0.0, 0.0),
    "hardsigmoid": (lambda a, al, be: np.clip(al * a + be, 0, 1), True, True, 0.2, 0.5),
    "elu": (lambda a, al, be: np.where(a >= 0, a, al * np.expm1(np.minimum(a, 0))), True, False, 1.0, 0.0),
    "softsign": (lambda a, al, be: a / (1 + np.abs(a)), False, False, 0.0, 0.0),
    "softplus": (lambda a, al, be: np.logaddexp(np.zeros((), a.dtype), a), False, False, 0.0, 0.0),
}



def _activation(name: str, alpha: float, beta: float, clip: float | None) -> Callable[[np.ndarray], np.ndarray]:
    """``a -> f(clip(a))`` in ``a``'s dtype, with alpha and beta fixed."""
    function = FUNCTIONS[name][0]

    def apply(a: np.ndarray) -> np.ndarray:
        if clip is not None:
            a = np.clip(a, -clip, clip)
        return np.asarray(function(a, a.dtype.type(alpha), a.dtype.type(beta)), a.dtype)

    apply.__name__ = name
    return apply


def activations(attributes: Mapping[str, object], num_directions: int) -> list[tuple]:
    """``[(recurrent_activation, activation)]`` per direction from ``activations``, alpha, beta and ``clip``.

    A tanh candidate with sigmoid gates and no clip is returned by name, so refgru's fast loop runs it.
    """
    names = attributes["activations"]
    names = ["sigmoid", "tanh"] * num_directions if names is None else [str(n).lower() for n in names]
    if len(names) != 2 * num_directions:
        raise error("activations", f"{2 * num_directions} names ([f, g] per direction, {num_directions} "
                    "direction(s))", list(names))
    for name in names:
        if name not in FUNCTIONS:
            raise error("activations", f"names from {', '.join(FUNCTIONS)} (any case)", name)
    values = {}
    for key, slot in (("activation_alpha", 1), ("activation_beta", 2)):
        given, takers = list(attributes[key]), [n for n in names if FUNCTIONS[n][slot]]
        if len(given) > len(takers):
            raise error(key, f"at most {len(takers)} values: onnxruntime reads one for each activation that takes "
                        f"one ({takers}), in order", given)
        values[key] = iter(given)
    clip = attributes["clip"]
    out = []
    for name in names:
        _, takes_alpha, takes_beta, alpha, beta = FUNCTIONS[name]
        alpha = next(values["activation_alpha"], alpha) if takes_alpha else 0.0
        beta = next(values["activation_beta"], beta) if takes_beta else 0.0
        fast = clip is None and name in ("sigmoid", "tanh")
        out.append(name if fast else _activation(name, alpha, beta, clip))
    return [(out[2 * d], out[2 * d + 1]) for d in range(num_directions)]


def _array(role: str, value: object, shape: tuple | None = None, dtype: np.dtype | None = None) -> np.ndarray:
    """``value`` as an array of the role's kind (integers for sequence_lens, else floats), shape and dtype."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise error(role, "a rectangular numeric array", got=f"a {type(value).__name__} that is not one") from None
    kind = "i" if role == "sequence_lens" else "f"
    if array.dtype.kind not in (kind + "u" if kind == "i" else kind):
        raise error(role, "an integer array" if kind == "i" else "a floating-point array", array)
    if dtype is not None and array.dtype != dtype:
        raise error(role, f"dtype {dtype} like X (ONNX's type T)", array)
    if shape is not None and array.shape != shape:
        raise error(role, f"shape {shape}", array)
    return array


def onnx_gru(node_or_model, inputs: Mapping[str, object] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run an ONNX ``GRU`` node, every attribute of opsets 7-22, exactly as the operator defines it.

    Arguments:
        node_or_model: an ``onnx.NodeProto`` with ``op_type == "GRU"``, or an ``onnx.ModelProto`` whose
            graph holds exactly that one node. ``W``, ``R``, ``B``, ``sequence_lens`` and ``initial_h`` may
            be initializers of the model or graph inputs.
        inputs: ``{tensor name: array}``, like onnxruntime's feeds: every node input that is not an
            initializer (for a bare node, all of them). With layout 0 (layout 1 in brackets):
            ``X (T, B, F)`` [``(B, T, F)``], ``W (D, 3u, F)``, ``R (D, 3u, u)``, ``B (D, 6u)``,
            ``sequence_lens (B,)`` integers in ``[0, T]``, ``initial_h (D, B, u)`` [``(B, D, u)``];
            ``D`` is 2 for ``direction="bidirectional"``, else 1. Float inputs share X's dtype.

    Returns:
        ``(Y, Y_h)`` in X's dtype, whatever outputs the node names: ``Y (T, D, B, u)`` [``(B, T, D, u)``],
        zero at steps ``t >= sequence_lens[b]``, each direction's output at the input step it read;
        ``Y_h (D, B, u)`` [``(B, D, u)``], the state after each direction's last valid step; zeros for
        ``sequence_lens[b] = 0`` (ONNX leaves that undefined; onnxruntime gives zeros, not ``initial_h``).
    """
    node, initializers, graph_inputs, opset = find_node(node_or_model)
    attributes = read_attributes(node, opset)
    values = node_values(node, initializers, graph_inputs, inputs)
    layout, backwards = attributes["layout"], DIRECTIONS[attributes["direction"]]
    d = len(backwards)
    x = _array("X", values["X"])
    if x.ndim != 3 or 0 in x.shape:
        raise error("X", f"a non-empty 3-D array {'(batch, seq, input)' if layout else '(seq, batch, input)'}", x)
    x = x if layout else x.transpose(1, 0, 2)  # (B, T, F)
    batch, steps, features = x.shape
    r = _array("R", values["R"], None, x.dtype)
    u = attributes["hidden_size"] if attributes["hidden_size"] is not None else (r.shape[-1] if r.ndim == 3 else 0)
    if isinstance(u, bool) or not isinstance(u, (int, np.integer)) or u < 1:
        raise error("hidden_size", "an integer >= 1", u)
    w = _array("W", values["W"], (d, 3 * u, features), x.dtype)
    r = _array("R", r, (d, 3 * u, u), x.dtype)
    b = None if "B" not in values else _array("B", values["B"], (d, 6 * u), x.dtype)
    h0 = None
    if "initial_h" in values:
        h0 = _array("initial_h", values["initial_h"], (batch, d, u) if layout else (d, batch, u), x.dtype)
        h0 = h0.transpose(1, 0, 2) if layout else h0  # (D, B, u)
    mask = None
    if "sequence_lens" in values:
        lens = _array("sequence_lens", values["sequence_lens"], (batch,))
        if (lens < 0).any() or (lens > steps).any():
            raise error("sequence_lens", f"lengths in [0, {steps}] (the sequence length of X)", got=f"{lens.tolist()}")
        mask = np.arange(steps)[None, :] < lens[:, None]
    functions = activations(attributes, d)
    ys, hs = [], []
    for i, go_backwards in enumerate(backwards):
        weights = GRUWeights.from_onnx(w[i : i + 1], r[i : i + 1], None if b is None else b[i : i + 1],
                                       linear_before_reset=attributes["linear_before_reset"])
        ract, act = functions[i]
        y, h = gru(x, weights, activation=act, recurrent_activation=ract, go_backwards=go_backwards,
                   initial_state=None if h0 is None else h0[i], mask=mask, return_sequences=True,
                   return_state=True, zero_output_for_mask=True)
        ys.append(y[:, ::-1] if go_backwards else y)
        hs.append(h)
    y, h = np.stack(ys), np.stack(hs)  # (D, B, T, u), (D, B, u)
    if mask is not None:
        h[:, lens == 0] = 0  # ONNX leaves a length of 0 undefined; onnxruntime gives Y_h = 0, not initial_h
    if layout:
        return np.ascontiguousarray(y.transpose(1, 2, 0, 3)), np.ascontiguousarray(h.transpose(1, 0, 2))
    return np.ascontiguousarray(y.transpose(2, 0, 1, 3)), h


__all__ = ["FUNCTIONS", "activations", "onnx_gru"]
