"""Keras models for the ``load_model`` tests, built in Keras 3 and in tf-keras.

Each ``ZOO`` builder takes ``(lib, rng)`` (``lib`` is ``keras`` or ``tf_keras``) and returns
``(model, steps)``. ``steps`` is what to run: ``("predict", x)``, ``("predict", x, batch_size)`` or
``("reset",)`` (stateful models). Every weight (biases too) is set to random non-zero values.
``model_runs`` saves each model as ``.keras`` and ``.h5``, records Keras's outputs, and runs the
files with refgru in a process without TensorFlow.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import warnings

B, T, F = 3, 5, 3


def randomize(model, rng, scale=0.6):
    """Set every weight of ``model`` to random values in ``+-[0.05, 1] * scale``."""
    model.set_weights(
        [
            (rng.uniform(0.05, 1.0, w.shape) * rng.choice([-1, 1], w.shape) * scale).astype(w.dtype)
            for w in model.get_weights()
        ]
    )
    return model


def masked_input(rng, batch=B, steps=T, features=F):
    """Inputs with all-zero steps: leading, trailing, gaps, and a fully masked row."""
    x = rng.normal(size=(batch, steps, features)).astype("float32")
    x[0, :2] = 0.0
    x[1, -2:] = 0.0
    x[1, 1] = 0.0
    if batch > 2:
        x[2] = 0.0
    return x


def ids(rng, batch=B, steps=6, vocab=10):
    x = rng.integers(1, vocab, size=(batch, steps))
    x[0, :2] = 0
    x[1, 3:] = 0
    x[-1, ::2] = 0
    return x.astype("int32")


def normal(rng, *shape):
    return rng.normal(size=shape).astype("float32")


def seq(lib, *layers, shape=(T, F), **input_kwargs):
    return lib.Sequential([lib.Input(shape, **input_kwargs), *layers])


def gru_dense(lib, rng):
    L = lib.layers
    return randomize(seq(lib, L.GRU(4), L.Dense(2)), rng), [("predict", normal(rng, B, T, F))]


def no_input_layer(lib, rng):
    L = lib.layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lib.Sequential([L.GRU(4, input_shape=(T, F)), L.Dense(1)])
    return randomize(model, rng), [("predict", normal(rng, B, T, F))]


def gru_options(lib, rng):
    """reset_after=False, no bias, relu/hard_sigmoid with weights big enough to saturate, dropouts off."""
    L = lib.layers
    model = seq(
        lib,
        L.GRU(
            4,
            reset_after=False,
            activation="relu",
            recurrent_activation="hard_sigmoid",
            dropout=0.3,
            recurrent_dropout=0.2,
            return_sequences=True,
        ),
        L.GRU(3, use_bias=False, recurrent_activation="hard_sigmoid", return_sequences=True, go_backwards=True),
        L.GRU(2, activation="softsign", unroll=True),
        L.Dense(2, use_bias=False),
    )
    return randomize(model, rng, scale=1.6), [("predict", 2 * normal(rng, B, T, F))]


def batches(lib, rng):
    L = lib.layers
    return randomize(seq(lib, L.GRU(3), L.Dense(2)), rng), [("predict", normal(rng, 7, T, F), 3)]


def return_state(lib, rng):
    L = lib.layers
    inp = lib.Input((T, F))
    out, h = L.GRU(4, return_state=True, return_sequences=True)(inp)
    return randomize(lib.Model(inp, [out, h, L.Dense(2)(h)]), rng), [("predict", normal(rng, B, T, F))]


def initial_state(lib, rng):
    L = lib.layers
    x, h0 = lib.Input((T, F)), lib.Input((3,))
    out = L.GRU(3, return_sequences=True)(L.Masking()(x), initial_state=h0)
    model = lib.Model([x, h0], L.GRU(2)(out))
    return randomize(model, rng), [("predict", [masked_input(rng), normal(rng, B, 3)])]


def stateful(lib, rng):
    L = lib.layers
    model = lib.Sequential(
        [
            lib.Input(batch_shape=(2, T, F)),
            L.GRU(3, stateful=True, return_sequences=True),
            L.GRU(2, stateful=True, go_backwards=True),
            L.Dense(1),
        ]
    )
    x1, x2 = normal(rng, 2, T, F), normal(rng, 2, T, F)
    return randomize(model, rng), [("predict", x1), ("predict", x2), ("reset",), ("predict", x1)]


def masking(lib, rng):
    """A mask through stacked GRUs (one go_backwards) and the inference-time identity layers."""
    L = lib.layers
    model = seq(
        lib,
        L.Masking(0.0),
        L.GRU(4, return_sequences=True),
        L.Dropout(0.5),
        L.SpatialDropout1D(0.3),
        L.GaussianNoise(0.2),
        L.GaussianDropout(0.2),
        L.GRU(4, return_sequences=True, go_backwards=True),
        L.GRU(3),
        L.Dense(2),
    )
    return randomize(model, rng), [("predict", masked_input(rng))]


def zero_output_for_mask(lib, rng):
    L = lib.layers
    model = seq(
        lib, L.Masking(0.0), L.GRU(4, return_sequences=True, zero_output_for_mask=True), L.TimeDistributed(L.Dense(2))
    )
    return randomize(model, rng), [("predict", masked_input(rng))]


def embedding_mask(lib, rng):
    """Embedding(mask_zero) -> TimeDistributed(Dense) -> go_backwards GRU: the unreversed mask goes on."""
    L = lib.layers
    inp = lib.Input((6,), dtype="int32")
    h = L.TimeDistributed(L.Dense(3, activation="tanh"))(L.Embedding(10, 4, mask_zero=True)(inp))
    h = L.GRU(3, return_sequences=True, go_backwards=True)(h)
    return randomize(lib.Model(inp, L.GRU(2)(h)), rng), [("predict", ids(rng))]


def embedding_sequential(lib, rng):
    """Float ids into an Embedding in a Sequential (implicit masks in both versions)."""
    L = lib.layers
    model = seq(lib, L.Embedding(10, 4, mask_zero=True), L.GRU(2), shape=(6,))
    return randomize(model, rng), [("predict", ids(rng).astype("float32"))]


def bidirectional_masked(lib, rng):
    """Masked inputs: concat and None with return_sequences (forced zero output), ave on the last step."""
    L = lib.layers
    inp = lib.Input((T, F))
    m = L.Masking()(inp)
    fw_bw = L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode=None)(m)
    outputs = [
        L.Bidirectional(L.GRU(2, return_sequences=True))(m),
        *fw_bw,
        L.Bidirectional(L.GRU(2), merge_mode="ave")(m),
    ]
    return randomize(lib.Model(inp, outputs), rng), [("predict", masked_input(rng))]


def bidirectional_modes(lib, rng):
    """The other merge modes (the merge arithmetic does not depend on masks)."""
    L = lib.layers
    inp = lib.Input((T, F))
    outputs = [L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode=mode)(inp) for mode in ("sum", "mul", "ave")]
    outputs.append(L.Bidirectional(L.GRU(2), merge_mode="mul")(inp))
    return randomize(lib.Model(inp, outputs), rng), [("predict", normal(rng, B, T, F))]


def bidirectional_backward_layer(lib, rng):
    L = lib.layers
    inp = lib.Input((T, F))
    backward = L.GRU(3, return_sequences=True, go_backwards=True, reset_after=False, activation="relu", use_bias=False)
    b = L.Bidirectional(L.GRU(3, return_sequences=True), backward_layer=backward, merge_mode="sum")(L.Masking()(inp))
    return randomize(lib.Model(inp, b), rng), [("predict", masked_input(rng))]


def bidirectional_state(lib, rng):
    L = lib.layers
    inp = lib.Input((T, F))
    y, h_fw, h_bw = L.Bidirectional(L.GRU(3, return_state=True, reset_after=False))(inp)
    return randomize(lib.Model(inp, [y, h_fw, h_bw]), rng), [("predict", normal(rng, B, T, F))]


def stacked(lib, rng):
    L = lib.layers
    model = seq(lib, L.GRU(4, return_sequences=True), L.GRU(4, return_sequences=True), L.GRU(3), L.Dense(1))
    return randomize(model, rng), [("predict", normal(rng, B, T, F))]


def dense_activations(lib, rng):
    from refgru.activations import ACTIVATIONS

    L = lib.layers
    inp = lib.Input((T, F))
    h = L.GRU(4)(inp)
    version = 2 if lib.__name__ == "tf_keras" else 3
    heads = [L.Dense(3, activation=name, name=f"dense_{name}")(h) for name in sorted(ACTIVATIONS[version])]
    return randomize(lib.Model(inp, heads), rng, scale=1.5), [("predict", 2 * normal(rng, B, T, F))]


def time_distributed(lib, rng):
    L = lib.layers
    model = seq(lib, L.GRU(4, return_sequences=True), L.TimeDistributed(L.Dense(2, activation="softmax")))
    return randomize(model, rng), [("predict", normal(rng, B, T, F))]


def shape_layers(lib, rng):
    L = lib.layers
    model = seq(
        lib,
        L.GRU(4, return_sequences=True),
        L.Flatten(),
        L.Dense(6),
        L.Activation("tanh"),
        L.Reshape((2, 3)),
        L.GRU(4),
        L.RepeatVector(3),
        L.GRU(2, return_sequences=True),
        L.Activation("softmax"),
    )
    return randomize(model, rng), [("predict", normal(rng, B, T, F))]


def multi_io(lib, rng):
    """Two inputs, ten outputs: every merge layer, Concatenate (also on the time axis), a shared GRU."""
    L = lib.layers
    a, b = lib.Input((T, F), name="a"), lib.Input((4, 2), name="b")
    ga, gb = L.GRU(4)(a), L.GRU(4)(b)
    shared = L.GRU(2, name="shared_gru")
    both = L.Concatenate(axis=1)([L.Dense(3)(b), a])
    merges = [
        L.Add()([ga, gb]),
        L.Subtract()([ga, gb]),
        L.Multiply()([ga, gb]),
        L.Average()([ga, gb]),
        L.Maximum()([ga, gb]),
        L.Minimum()([ga, gb]),
    ]
    outputs = [L.Dense(1)(merges[0]), L.Dense(2)(L.Concatenate()([ga, gb]))] + merges[1:] + [shared(a), shared(both)]
    return randomize(lib.Model([a, b], outputs), rng), [("predict", [normal(rng, B, T, F), normal(rng, B, 4, 2)])]


def masked_merges(lib, rng):
    """Two differently masked branches merged: tf-keras ANDs the masks, Keras 3 ORs them."""
    L = lib.layers
    a, b = lib.Input((T, F)), lib.Input((T, F))
    ga = L.GRU(3, return_sequences=True)(L.Masking()(a))
    gb = L.GRU(3, return_sequences=True, go_backwards=True)(L.Masking()(b))
    added = L.GRU(2, name="after_add")(L.Add()([ga, gb]))
    joined = L.GRU(2, name="after_concat")(L.Concatenate()([ga, gb]))
    xa, xb = masked_input(rng), masked_input(rng)
    xb[0, 2:4] = 0.0
    xb[1, :] = rng.normal(size=(T, F))
    return randomize(lib.Model([a, b], [added, joined]), rng), [("predict", [xa, xb])]


def float64(lib, rng):
    L = lib.layers
    model = lib.Sequential(
        [
            lib.Input((T, F), dtype="float64"),
            L.GRU(3, dtype="float64", return_sequences=True),
            L.GRU(2, dtype="float64"),
            L.Dense(1, dtype="float64"),
        ]
    )
    return randomize(model, rng), [("predict", rng.normal(size=(B, T, F)))]


ZOO = {
    "gru_dense": gru_dense,
    "no_input_layer": no_input_layer,
    "gru_options": gru_options,
    "batches": batches,
    "return_state": return_state,
    "initial_state": initial_state,
    "stateful": stateful,
    "masking": masking,
    "zero_output_for_mask": zero_output_for_mask,
    "embedding_mask": embedding_mask,
    "embedding_sequential": embedding_sequential,
    "bidirectional_masked": bidirectional_masked,
    "bidirectional_modes": bidirectional_modes,
    "bidirectional_backward_layer": bidirectional_backward_layer,
    "bidirectional_state": bidirectional_state,
    "stacked": stacked,
    "dense_activations": dense_activations,
    "time_distributed": time_distributed,
    "shape_layers": shape_layers,
    "multi_io": multi_io,
    "masked_merges": masked_merges,
    "float64": float64,
}


FORMATS = {"keras": (".keras", ".h5"), "tf_keras": (".h5", ".keras")}


def save(model, path):
    """``model.save(path)``: the extension picks the format (tf-keras and Keras 3 warn about .h5)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)


def zoo_ids():
    """``<lib>/<model><ext>`` for every zoo model and format (known without building anything)."""
    return [f"{lib}/{name}{ext}" for lib, exts in FORMATS.items() for name in ZOO for ext in exts]
