"""One Keras LSTM time step, in Keras's names and gate order ``[i, f, c, o]``.

Keras stores an LSTM in three arrays whose column blocks are the input gate ``i``, the forget gate
``f``, the cell candidate ``c`` and the output gate ``o``::

    kernel            (input_dim, 4u) = [ W_i | W_f | W_c | W_o ]
    recurrent_kernel  (u, 4u)         = [ U_i | U_f | U_c | U_o ]
    bias              (4u,)           = [ b_i | b_f | b_c | b_o ]     (absent with use_bias=False)

With ``x_i, x_f, x_c, x_o`` the blocks of ``x_t @ kernel + bias`` (:func:`project_inputs`), one step
(:func:`cell`) is::

    i = recurrent_activation(x_i + h_tm1 @ U_i)
    f = recurrent_activation(x_f + h_tm1 @ U_f)
    c = f * c_tm1 + i * activation(x_c + h_tm1 @ U_c)
    o = recurrent_activation(x_o + h_tm1 @ U_o)
    h = o * activation(c)

and the new state is ``(h, c)``. ``unit_forget_bias`` only initialises ``b_f`` to ones; it changes
nothing here. PyTorch's ``nn.LSTM`` stacks the same blocks as ``[i; f; g; o]`` (its ``g`` is ``c``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .activations import Activation, get_activation
from .rnn_weights import BlockWeights, check_step, project_inputs

#: Keras gate order of the column blocks: input gate i, forget gate f, cell candidate c, output gate o.
LSTM_GATES = ("i", "f", "c", "o")

#: The row blocks of torch.nn.LSTM, as ``(torch name, Keras gate)``: the same order, with ``g`` for ``c``.
TORCH_LSTM_GATES = (("i", "i"), ("f", "f"), ("g", "c"), ("o", "o"))

#: The names of the LSTM state tuple, in Keras's order: ``[h, c]``.
STATES = ("h_tm1", "c_tm1")


#: The named slices ``<prefix>_<gate>``: ``prefix -> (array, its blocks' shape, what they hold)``.
_SLICES = {"W": ("kernel", "(input_dim, u)", "input weights"), "U": ("recurrent_kernel", "(u, u)", "recurrent weights"),
           "b": ("bias", "(u,)", "bias")}
#: The gates as the slices' docstrings name them.
_GATE_NAMES = {"i": "the input gate i", "f": "the forget gate f", "c": "the cell candidate c", "o": "the output gate o"}


def _slice(source: str, gate: str, doc: str) -> property:
    return property(lambda self: self.block(getattr(self, source), gate), doc=doc)


def _named_slices(cls: type) -> type:
    """Give ``cls`` the twelve read-only properties ``W_i ... b_o``: one per :data:`_SLICES` prefix and gate."""
    for prefix, (source, shape, what) in _SLICES.items():
        for gate in LSTM_GATES:
            doc = f"``{shape}`` {what} of {_GATE_NAMES[gate]}{', or None' if source == 'bias' else ''}."
            setattr(cls, f"{prefix}_{gate}", _slice(source, gate, doc))
    return cls


@_named_slices
class LSTMWeights(BlockWeights):
    """The weights of one Keras LSTM layer (or ``LSTMCell``), with named slices.

    Arguments:
        kernel: ``(input_dim, 4u)``, the column blocks ``[W_i | W_f | W_c | W_o]``.
        recurrent_kernel: ``(u, 4u)``, the column blocks ``[U_i | U_f | U_c | U_o]``.
        bias: ``(4u,)`` ``[b_i | b_f | b_c | b_o]``, or ``None`` (``use_bias=False``).

    Attributes (read-only views of the arrays above):
        W_i, W_f, W_c, W_o: ``(input_dim, u)``; U_i, U_f, U_c, U_o: ``(u, u)``;
        b_i, b_f, b_c, b_o: ``(u,)``, or ``None`` without a bias.
    """

    LAYER = "LSTM"
    TORCH_MODULE = "torch.nn.LSTM"
    GATES = LSTM_GATES
    TORCH_GATES = TORCH_LSTM_GATES
    TORCH_MODES = ("LSTM",)
    TORCH_ACTIVATIONS = {"activation": ("tanh",), "recurrent_activation": ("sigmoid",)}

    def slices(self) -> dict[str, np.ndarray | None]:
        """All twelve named slices, in the order W, U, b and i, f, c, o within each."""
        return {f"{p}_{g}": getattr(self, f"{p}_{g}") for p in _SLICES for g in LSTM_GATES}

    def to_torch(self, *, activation: object = "tanh", recurrent_activation: object = "sigmoid", layer: int = 0,
                 direction: str = "forward") -> dict[str, np.ndarray]:
        """The ``torch.nn.LSTM`` parameters of this layer, as NumPy arrays of the weights' dtype.

        Arguments:
            activation, recurrent_activation: the Keras layer's; ``nn.LSTM`` computes only ``"tanh"``
                and ``"sigmoid"``.
            layer, direction: name the keys for layer ``layer`` of a stack, and ``"reverse"`` for the
                backward half of a bidirectional one (``weight_ih_l1_reverse``).

        Returns:
            ``{"weight_ih_l0": (4u, input_dim), "weight_hh_l0": (4u, u), "bias_ih_l0": (4u,), "bias_hh_l0": (4u,)}``
            with row blocks ``[i; f; g; o]``, ``bias_ih = bias`` and ``bias_hh = 0``; no bias keys without a
            bias (load them into ``nn.LSTM(bias=False)``).
        """
        return self._to_torch({"activation": activation, "recurrent_activation": recurrent_activation},
                              layer, direction)


def cell(x_proj: np.ndarray, states: tuple[np.ndarray, np.ndarray], w: LSTMWeights, activation: Activation,
         recurrent_activation: Activation) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The step math on pre-projected inputs ``x_proj = x_t @ kernel + bias`` ``(B, 4u)``.

    ``states`` is ``(h_tm1, c_tm1)``, each ``(B, u)``. Returns ``(h, (h, c))``, each ``(B, u)``.
    """
    h_tm1, c_tm1 = states
    u = w.units
    z = x_proj + h_tm1 @ w.recurrent_kernel  # [x_i + h_tm1 @ U_i | ... | x_o + h_tm1 @ U_o]
    i = recurrent_activation(z[:, :u])
    f = recurrent_activation(z[:, u : 2 * u])
    c = f * c_tm1 + i * activation(z[:, 2 * u : 3 * u])
    o = recurrent_activation(z[:, 3 * u :])
    h = o * activation(c)
    return h, (h, c)


def lstm_step(x_t: np.ndarray, states: Sequence[np.ndarray], weights: Sequence[np.ndarray] | LSTMWeights,
              activation: str | Activation = "tanh", recurrent_activation: str | Activation = "sigmoid", *,
              keras_version: int = 3) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """One LSTM time step, exactly as ``keras.layers.LSTMCell``.

    Arguments:
        x_t: ``(B, input_dim)`` the input at this step.
        states: ``(h_tm1, c_tm1)``, each ``(B, u)``: the previous output and carry.
        weights: ``LSTM.get_weights()`` or an :class:`LSTMWeights`.
        activation: for the candidate and ``h = o * activation(c)``, default ``"tanh"``.
        recurrent_activation: for the gates ``i, f, o``, default ``"sigmoid"``.
        keras_version: 3 (Keras 3) or 2 (tf-keras); decides ``hard_sigmoid``.

    Returns:
        ``(h, (h, c))``: the output ``h`` ``(B, u)`` and the new state, as Keras's cell returns ``h, [h, c]``.
    """
    w = LSTMWeights.from_keras(weights)
    act = get_activation(activation, keras_version, "activation")
    ract = get_activation(recurrent_activation, keras_version, "recurrent_activation")
    x_t, states = check_step(x_t, states, w, STATES)
    return cell(project_inputs(x_t, w), states, w, act, ract)


__all__ = ["LSTMWeights", "LSTM_GATES", "STATES", "TORCH_LSTM_GATES", "cell", "lstm_step", "project_inputs"]
