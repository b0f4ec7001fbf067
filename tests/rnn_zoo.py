"""Zoo models with LSTM, SimpleRNN and RNN(cell) beside GRUs (issue 15), built in Keras 3 and tf-keras.

The machinery is ``model_zoo`` / ``model_runs``'s: each ``RNN_ZOO`` builder takes ``(lib, rng)`` and
returns ``(model, steps)``; ``python rnn_zoo.py DIR GROUP LIB:MODEL...`` builds a share of them (with
``legacy:all`` also the hand-made CuDNNLSTM files of :data:`LEGACY`), saves each as ``.keras`` and
``.h5`` and records Keras's results, exactly as ``model_runs.py`` does for ``model_zoo.ZOO``.
"""

from __future__ import annotations

import os

import model_runs
import numpy as np
from model_legacy import random, write_h5
from model_runs import flatten, save_steps
from model_zoo import B, F, T, masked_input, masked_seq, normal, randomize, save  # noqa: F401  (save: used by model_runs)


def gru_lstm_stack(lib, rng):
    """Masked GRU -> LSTM(go_backwards) -> SimpleRNN -> LSTM(options) -> Dense."""
    L = lib.layers
    return masked_seq(
        lib,
        rng,
        L.GRU(4, return_sequences=True),
        L.LSTM(3, return_sequences=True, go_backwards=True, unit_forget_bias=False),
        L.SimpleRNN(3, activation="relu", return_sequences=True),
        L.LSTM(2, use_bias=False, activation="softsign", recurrent_activation="hard_sigmoid", dropout=0.2),
        L.Dense(2),
    )


def bidirectional_cells(lib, rng):
    """Bidirectional around LSTM (concat, None with states), SimpleRNN (mul) and RNN([GRUCell, LSTMCell]) (ave)."""
    L = lib.layers
    inp = lib.Input((T, F))
    m = L.Masking()(inp)
    fw_bw_states = L.Bidirectional(L.LSTM(2, return_sequences=True, return_state=True), merge_mode=None)(m)
    outputs = [
        L.Bidirectional(L.LSTM(3, return_sequences=True))(m),
        *fw_bw_states,
        L.Bidirectional(L.SimpleRNN(2), merge_mode="mul")(m),
        L.Bidirectional(L.RNN([L.GRUCell(2), L.LSTMCell(2)], return_sequences=True), merge_mode="ave")(m),
    ]
    return randomize(lib.Model(inp, outputs), rng), [("predict", masked_input(rng))]


def rnn_cells(lib, rng):
    """RNN(GRUCell) with states, RNN([GRUCell, LSTMCell]) backwards, StackedRNNCells of three, RNN(SimpleRNNCell)."""
    L = lib.layers
    inp = lib.Input((T, F))
    m = L.Masking()(inp)
    seqs, h = L.RNN(L.GRUCell(3, reset_after=False), return_sequences=True, return_state=True)(m)
    outputs = [
        seqs, h,
        L.RNN([L.GRUCell(3), L.LSTMCell(2)], go_backwards=True, return_sequences=True)(m),
        *L.RNN(L.StackedRNNCells([L.GRUCell(2), L.GRUCell(2, use_bias=False), L.LSTMCell(2)]),
               return_state=True)(seqs),
        L.RNN(L.SimpleRNNCell(2, activation="relu"), name="simple_cell")(m),
    ]
    return randomize(lib.Model(inp, outputs), rng), [("predict", masked_input(rng))]


def _stateful_steps(rng, shapes):
    first, second = [normal(rng, *s) for s in shapes], [normal(rng, *s) for s in shapes]
    one = first if len(shapes) > 1 else first[0]
    two = second if len(shapes) > 1 else second[0]
    return [("predict", one), ("predict", two), ("reset",), ("predict", two)]


def stateful_mixed(lib, rng):
    """A stateful GRU -> LSTM -> RNN([GRUCell, SimpleRNNCell]) stack, across predict batches and reset_states().

    Keras 3 (3.x as installed) cannot reset a stateful RNN of stacked cells (``reset_state`` fails on the
    nested state list), so its model wraps one GRUCell there."""
    L = lib.layers
    cells = [L.GRUCell(2), L.SimpleRNNCell(2)] if lib.__name__ == "tf_keras" else L.GRUCell(2)
    model = lib.Sequential([
        lib.Input(batch_shape=(2, T, F)),
        L.GRU(3, stateful=True, return_sequences=True),
        L.LSTM(3, stateful=True, return_sequences=True, go_backwards=True),
        L.RNN(cells, stateful=True),
        L.Dense(1),
    ])
    return randomize(model, rng), _stateful_steps(rng, [(2, T, F)])


def stateful_initial_state(lib, rng):
    """Stateful GRU, LSTM and SimpleRNN given an initial_state: tf-keras uses the carried state once it is
    non-zero (the given one only before the first call and after reset_states()); Keras 3 always the given one."""
    L = lib.layers
    x, a, b = lib.Input(batch_shape=(2, T, F)), lib.Input(batch_shape=(2, 3)), lib.Input(batch_shape=(2, 3))
    outputs = [
        L.GRU(3, stateful=True)(x, initial_state=a),
        L.LSTM(3, stateful=True, return_sequences=True)(x, initial_state=[a, b]),
        L.SimpleRNN(3, stateful=True)(x, initial_state=b),
    ]
    model = lib.Model([x, a, b], outputs)
    return randomize(model, rng), _stateful_steps(rng, [(2, T, F), (2, 3), (2, 3)])


def float64_cells(lib, rng):
    """LSTM, SimpleRNN and RNN(LSTMCell) in float64 (tolerance 1e-10), masked."""
    L = lib.layers
    kw = {"dtype": "float64"}
    inp = lib.Input((T, F), dtype="float64")
    m = L.Masking(**kw)(inp)
    h = L.LSTM(3, return_sequences=True, **kw)(m)
    outputs = [L.SimpleRNN(2, **kw)(h), L.RNN(L.LSTMCell(2, **kw), go_backwards=True, **kw)(h),
               L.Bidirectional(L.LSTM(2, **kw), **kw)(m)]
    x = masked_input(rng).astype("float64")
    return randomize(lib.Model(inp, outputs), rng), [("predict", x)]


RNN_ZOO = {
    "gru_lstm_stack": gru_lstm_stack,
    "bidirectional_cells": bidirectional_cells,
    "rnn_cells": rnn_cells,
    "stateful_mixed": stateful_mixed,
    "stateful_initial_state": stateful_initial_state,
    "float64_cells": float64_cells,
}


# --- hand-made CuDNNLSTM files (tf-keras can no longer build the layer) --------------------------------


def cudnn_lstm_file(directory, rng):
    """A Keras 2.2.4 Sequential [InputLayer, CuDNNLSTM(4, return_sequences), LSTM(2) holding CuDNNLSTM arrays].

    Reference: tf-keras LSTMs given tf-keras's own ``preprocess_weights_for_loading`` of those arrays
    (per gate block ``W = k.T.reshape(k.shape, order="F")``, ``U = k.T``, the two biases summed)."""
    import tf_keras
    from tf_keras.src.saving.legacy.hdf5_format import preprocess_weights_for_loading

    first = [random(rng, F, 16), random(rng, 4, 16), random(rng, 32)]
    second = [random(rng, 4, 8), random(rng, 2, 8), random(rng, 16)]
    common = {"trainable": True, "return_sequences": True, "return_state": False, "go_backwards": False,
              "stateful": False}
    layers = [
        {"class_name": "InputLayer", "config": {"name": "input_1", "batch_input_shape": [None, T, F],
                                                "dtype": "float32"}},
        {"class_name": "CuDNNLSTM", "config": {"name": "cu_dnnlstm_1", "units": 4, **common}},
        {"class_name": "LSTM", "config": {"name": "lstm_1", "units": 2, "activation": "tanh",
                                          "recurrent_activation": "sigmoid", "use_bias": True,
                                          "unit_forget_bias": True, **common, "return_sequences": False}},
    ]
    names = ["kernel", "recurrent_kernel", "bias"]
    weights = [("input_1", []),
               ("cu_dnnlstm_1", [(f"cu_dnnlstm_1/{n}:0", a) for n, a in zip(names, first, strict=True)]),
               ("lstm_1", [(f"lstm_1/{n}:0", a) for n, a in zip(names, second, strict=True)])]
    path = os.path.join(directory, "cudnn_lstm.h5")
    write_h5(path, {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": layers}}, weights, "2.2.4")
    L = tf_keras.layers
    reference = tf_keras.Sequential([tf_keras.Input((T, F)), L.LSTM(4, return_sequences=True), L.LSTM(2)])
    for layer, arrays in zip(reference.layers, (first, second), strict=True):
        layer.set_weights(preprocess_weights_for_loading(layer, arrays))
    x = normal(rng, 3, T, F)
    return path, [("predict", x)], [np.asarray(reference(x))]


LEGACY = {"cudnn_lstm": cudnn_lstm_file}


def zoo_ids():
    """``<lib>/<model><ext>`` for every model and format, then ``legacy/<name>``."""
    from model_zoo import FORMATS

    return [f"{lib}/{name}{ext}" for lib, exts in FORMATS.items() for name in RNN_ZOO for ext in exts] + \
        [f"legacy/{name}" for name in LEGACY]


def main(argv):
    """``python rnn_zoo.py DIR GROUP LIB:MODEL...``: ``model_runs.main`` with :data:`RNN_ZOO` and :data:`LEGACY`."""
    directory, group, items = argv[0], argv[1], [a.split(":") for a in argv[2:]]
    model_runs.ZOO = RNN_ZOO  # build_zoo looks its builders up in model_runs.ZOO
    jobs, expected = model_runs.build_zoo(directory, [(lib, name) for lib, name in items if lib != "legacy"])
    if any(lib == "legacy" for lib, _ in items):
        for name, make in LEGACY.items():
            path, steps, results = make(directory, np.random.default_rng(sum(map(ord, name))))
            inputs = os.path.join(directory, f"legacy-{name}-inputs.npz")
            jobs.append({"id": f"legacy/{name}", "path": path, "steps": save_steps(steps, inputs), "inputs": inputs})
            expected[f"legacy/{name}"] = flatten(results)
    model_runs.write_group(directory, group, jobs, expected)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
