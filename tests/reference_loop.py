"""An independent tiny Keras GRU in plain NumPy: the test suite's oracle. It imports nothing from refgru.

Written from the Keras sources, not from refgru:

- the step is ``GRUCell.call`` (``keras/src/layers/rnn/gru.py``; tf-keras ``layers/rnn/gru.py``), with
  the gate order ``[z, r, h]`` in every weight matrix;
- the sequence rules are ``backend.rnn`` (``keras/src/backend/numpy/rnn.py``, the unrolled branch, and
  tf-keras ``backend.rnn``): with ``go_backwards`` the inputs *and the mask* are reversed along time and
  the outputs stay in processing order; on a masked step the state is carried
  (``where(mask, new_state, state)``) and the output is the previous output, which is zeros before
  the first unmasked step, or zeros on every masked step with ``zero_output_for_mask``; the last
  output is the last element of that output sequence.

It is pinned to Keras's numbers by ``tests/test_golden.py::test_reference_loop_reproduces_keras``.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


#: The activations the golden grid uses. ``hard_sigmoid`` is the one name whose meaning depends on the
#: version: Keras 3 ``relu6(x + 3) / 6`` (saturating at ±3), tf-keras ``clip(0.2 x + 0.5, 0, 1)`` (at ±2.5).
ACTIVATIONS = {
    "tanh": lambda x, v: np.tanh(x),
    "sigmoid": lambda x, v: _sigmoid(x),
    "hard_sigmoid": lambda x, v: np.clip(x + 3, 0, 6) / 6 if v == 3 else np.clip(0.2 * x + 0.5, 0, 1),
    "relu": lambda x, v: np.maximum(x, 0),
    "linear": lambda x, v: x,
    "softsign": lambda x, v: x / (1 + np.abs(x)),
    "elu": lambda x, v: _elu(x),
}


def step(x_t, h_tm1, kernel, recurrent_kernel, bias, *, reset_after, act, rec_act):
    """One ``GRUCell.call``: returns the new state ``h`` ``(B, u)``."""
    u = recurrent_kernel.shape[0]
    if bias is None:
        b_in = b_rec = np.zeros(3 * u, kernel.dtype)
    elif reset_after:
        b_in, b_rec = bias[0], bias[1]
    else:
        b_in, b_rec = bias, np.zeros(3 * u, kernel.dtype)
    x_z, x_r, x_h = np.split(x_t @ kernel + b_in, 3, axis=-1)
    if reset_after:
        inner_z, inner_r, inner_h = np.split(h_tm1 @ recurrent_kernel + b_rec, 3, axis=-1)
        z, r = rec_act(x_z + inner_z), rec_act(x_r + inner_r)
        hh = act(x_h + r * inner_h)
    else:
        z = rec_act(x_z + h_tm1 @ recurrent_kernel[:, :u])
        r = rec_act(x_r + h_tm1 @ recurrent_kernel[:, u:2 * u])
        hh = act(x_h + (r * h_tm1) @ recurrent_kernel[:, 2 * u:])
    return z * h_tm1 + (1 - z) * hh


def gru(x, weights, *, mask=None, initial_state=None, keras_version=3, reset_after=True, activation="tanh",
        recurrent_activation="sigmoid", go_backwards=False, return_sequences=False, return_state=False,
        zero_output_for_mask=False):
    """``keras.layers.GRU(...)(x, mask=mask, initial_state=[initial_state])`` for ``x`` ``(B, T, F)``.

    ``weights`` is ``[kernel, recurrent_kernel(, bias)]`` as ``get_weights()`` gives them. Computes in
    ``x``'s dtype. The result has Keras's structure: an array, or ``(output, state)`` as a tuple in
    Keras 3 and a list in tf-keras.
    """
    kernel, recurrent_kernel = weights[0], weights[1]
    bias = weights[2] if len(weights) == 3 else None
    dtype = x.dtype
    act = lambda a: ACTIVATIONS[activation](a, keras_version).astype(dtype)  # noqa: E731
    rec_act = lambda a: ACTIVATIONS[recurrent_activation](a, keras_version).astype(dtype)  # noqa: E731
    batch, steps = x.shape[:2]
    units = recurrent_kernel.shape[0]
    state = np.zeros((batch, units), dtype) if initial_state is None else np.asarray(initial_state, dtype)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs = []
    for t in order:  # processing order: the outputs are appended in it and never re-reversed
        new_state = step(x[:, t], state, kernel, recurrent_kernel, bias, reset_after=reset_after, act=act,
                         rec_act=rec_act)
        output = new_state
        if mask is not None:
            keep = np.asarray(mask[:, t], bool)[:, None]
            if zero_output_for_mask:
                fallback = np.zeros_like(output)
            else:
                fallback = outputs[-1] if outputs else np.zeros_like(output)
            output = np.where(keep, output, fallback)
            new_state = np.where(keep, new_state, state)
        outputs.append(output)
        state = new_state
    result = np.stack(outputs, axis=1) if return_sequences else outputs[-1]
    if not return_state:
        return result
    return (result, state) if keras_version == 3 else [result, state]
