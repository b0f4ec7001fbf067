"""One Keras SimpleRNN time step.

Keras stores a SimpleRNN in three arrays, one block each::

    kernel            (input_dim, u) = W
    recurrent_kernel  (u, u)         = U
    bias              (u,)           = b     (absent with use_bias=False)

With ``x_h = x_t @ W + b`` (:func:`project_inputs`), one step (:func:`cell`) is::

    h = activation(x_h + h_tm1 @ U)

and the new state is ``(h,)``. PyTorch's ``nn.RNN`` computes the same with ``nonlinearity`` ``"tanh"``
or ``"relu"``, and two biases ``bias_ih + bias_hh`` where Keras has ``b``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .activations import Activation, get_activation
from .rnn_weights import BlockWeights, check_step, project_inputs

#: The names of the SimpleRNN state tuple: ``[h]``.
STATES = ("h_tm1",)


class SimpleRNNWeights(BlockWeights):
    """The weights of one Keras SimpleRNN layer (or ``SimpleRNNCell``).

    Arguments:
        kernel: ``(input_dim, u)``, ``W``. recurrent_kernel: ``(u, u)``, ``U``.
        bias: ``(u,)``, ``b``, or ``None`` (``use_bias=False``).

    Attributes:
        W, U, b: the three arrays under their names in the equations (``b`` is ``None`` without a bias).
    """

    LAYER = "SimpleRNN"
    TORCH_MODULE = "torch.nn.RNN"
    GATES = ("h",)
    TORCH_GATES = (("h", "h"),)
    TORCH_MODES = ("RNN_TANH", "RNN_RELU")
    TORCH_ACTIVATIONS = {"activation": ("tanh", "relu")}

    W = property(lambda self: self.kernel, doc="``(input_dim, u)`` input weights (the kernel).")
    U = property(lambda self: self.recurrent_kernel, doc="``(u, u)`` recurrent weights.")
    b = property(lambda self: self.bias, doc="``(u,)`` bias, or None.")

    def to_torch(self, *, activation: object = "tanh", layer: int = 0,
                 direction: str = "forward") -> dict[str, np.ndarray]:
        """The ``torch.nn.RNN(nonlinearity=activation)`` parameters of this layer, as NumPy arrays.

        Arguments:
            activation: the Keras layer's, ``"tanh"`` or ``"relu"`` (the two ``nn.RNN`` computes).
            layer, direction: as in :meth:`refgru.LSTMWeights.to_torch`.

        Returns:
            ``{"weight_ih_l0": W.T (u, input_dim), "weight_hh_l0": U.T (u, u), "bias_ih_l0": b (u,),
            "bias_hh_l0": zeros (u,)}``; no bias keys without a bias (``nn.RNN(bias=False)``).
        """
        return self._to_torch({"activation": activation}, layer, direction)


def cell(x_proj: np.ndarray, states: tuple[np.ndarray], w: SimpleRNNWeights,
         activation: Activation) -> tuple[np.ndarray, tuple[np.ndarray]]:
    """The step math on pre-projected inputs ``x_proj = x_t @ W + b`` ``(B, u)``; ``states = (h_tm1,)`` ``(B, u)``.

    Returns ``(h, (h,))``, ``h`` ``(B, u)``.
    """
    (h_tm1,) = states
    h = activation(x_proj + h_tm1 @ w.U)
    return h, (h,)


def simple_rnn_step(x_t: np.ndarray, states: Sequence[np.ndarray], weights: Sequence[np.ndarray] | SimpleRNNWeights,
                    activation: str | Activation = "tanh", *,
                    keras_version: int = 3) -> tuple[np.ndarray, tuple[np.ndarray]]:
    """One SimpleRNN time step, exactly as ``keras.layers.SimpleRNNCell``.

    Arguments:
        x_t: ``(B, input_dim)``. states: ``(h_tm1,)`` with ``h_tm1`` ``(B, u)``.
        weights: ``SimpleRNN.get_weights()`` or a :class:`SimpleRNNWeights`.
        activation: Keras name or callable, default ``"tanh"``. keras_version: 3 or 2.

    Returns:
        ``(h, (h,))``: the output ``h`` ``(B, u)`` and the new state, as Keras's cell returns ``h, [h]``.
    """
    w = SimpleRNNWeights.from_keras(weights)
    act = get_activation(activation, keras_version, "activation")
    x_t, states = check_step(x_t, states, w, STATES)
    return cell(project_inputs(x_t, w), states, w, act)


__all__ = ["STATES", "SimpleRNNWeights", "cell", "project_inputs", "simple_rnn_step"]
