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


def masked_seq(lib, rng, *layers):
    """``(model, steps)`` of the Sequential ``Masking(0.0) -> *layers``, randomized, run on :func:`masked_input`."""
    model = seq(lib, lib.layers.Masking(0.0), *layers)
    return randomize(model, rng), [("predict", masked_input(rng))]


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
    return masked_seq(
        lib,
        rng,
        L.GRU(4, return_sequences=True),
        L.Dropout(0.5),
        L.SpatialDropout1D(0.3),
        L.GaussianNoise(0.2),
        L.GaussianDropout(0.2),
        L.GRU(4, return_sequences=True, go_backwards=True),
        L.GRU(3),
        L.Dense(2),
    )


def zero_output_for_mask(lib, rng):
    L = lib.layers
    return masked_seq(
        lib, rng, L.GRU(4, return_sequences=True, zero_output_for_mask=True), L.TimeDistributed(L.Dense(2))
    )


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


# --- issue 14: the layers around GRUs (convolutions, pooling, normalization, activations, shapes) ---


def stats_positive(model):
    """BatchNormalization moving variances made positive (``randomize`` gives them random signs)."""
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            layer.moving_variance.assign(abs(layer.moving_variance.numpy()) + 0.1)
    return model


def is_tf_keras(lib):
    return lib.__name__ == "tf_keras"


def conv1d_options(lib, rng):
    """Every 1D convolution, padding, cropping, upsampling and pooling option, one branch each."""
    L = lib.layers
    inp = lib.Input((9, 4))
    outputs = [
        L.Conv1D(4, 3, strides=2, padding="same", activation="relu")(inp),
        L.Conv1D(4, 3, padding="causal", dilation_rate=2, groups=2, activation="tanh")(inp),
        L.Conv1D(6, 2, strides=3, data_format="channels_first", use_bias=False, groups=2)(L.Permute((2, 1))(inp)),
        L.DepthwiseConv1D(3, depth_multiplier=2, strides=2, padding="same")(inp),
        L.DepthwiseConv1D(2, use_bias=False, activation="sigmoid")(inp),
        L.SeparableConv1D(5, 3, depth_multiplier=2, padding="same", dilation_rate=2)(inp),
        L.SeparableConv1D(3, 4, strides=2, use_bias=False)(inp),
        L.UpSampling1D(3)(L.Cropping1D((2, 1))(L.ZeroPadding1D((1, 2))(inp))),
        L.ZeroPadding1D(2)(L.Cropping1D(1)(inp)),
        L.AveragePooling1D(2, padding="same")(L.MaxPooling1D(3, strides=2, padding="same")(inp)),
        L.MaxPooling1D(2)(inp),
        L.AveragePooling1D(3, strides=2)(inp),
        L.GlobalMaxPooling1D(keepdims=True)(inp),
        L.GlobalAveragePooling1D(data_format="channels_first")(inp),
        L.GlobalMaxPooling1D(data_format="channels_first")(inp),
    ]
    return randomize(lib.Model(inp, outputs), rng), [("predict", normal(rng, B, 9, 4))]


def conv2d_options(lib, rng):
    """The 2D convolution, padding, cropping, upsampling and pooling options; Flatten and Permute on 4D."""
    L = lib.layers
    inp = lib.Input((7, 6, 4))
    first = lib.Input((4, 7, 6))  # channels_first branches get their own input
    outputs = [
        L.Conv2D(4, (3, 2), strides=(2, 1), padding="same", activation="relu")(inp),
        L.Conv2D(4, 3, groups=2, activation="tanh")(inp),
        L.Conv2D(3, (2, 3), dilation_rate=(2, 1), use_bias=False)(inp),
        L.Conv2D(2, 3, strides=2, data_format="channels_first")(first),
        L.UpSampling2D((2, 3))(L.Cropping2D(((0, 1), (1, 2)))(L.ZeroPadding2D(((1, 0), (2, 1)))(inp))),
        L.UpSampling2D(2, data_format="channels_first")(
            L.Cropping2D(1, data_format="channels_first")(L.ZeroPadding2D(1, data_format="channels_first")(first))),
        L.AveragePooling2D(2, strides=1, padding="same")(L.MaxPooling2D((2, 3), padding="same")(inp)),
        L.MaxPooling2D(2, strides=(1, 2))(inp),
        L.AveragePooling2D((3, 2), data_format="channels_first")(first),
        L.GlobalAveragePooling2D(keepdims=True)(inp),
        L.GlobalMaxPooling2D()(inp),
        L.GlobalAveragePooling2D(data_format="channels_first")(first),
        L.Flatten()(inp),
        L.Flatten(data_format="channels_first")(first),
        L.Permute((3, 1, 2))(inp),
    ]
    model = lib.Model([inp, first], outputs)
    # predict, not model(x): Keras 3.15's eager call of a strided channels_first Conv2D with a bias differs from
    # its own predict (and from the channels_last layer) by ~0.02; predict is what refgru follows
    return randomize(model, rng), [("predict", [normal(rng, B, 7, 6, 4), normal(rng, B, 4, 7, 6)], B)]


def norm_and_activations(lib, rng):
    """BatchNormalization and LayerNormalization options, every activation layer, Softmax axes, Dot."""
    L = lib.layers
    inp, img = lib.Input((4, 5)), lib.Input((3, 4, 2))
    outputs = [
        L.BatchNormalization(axis=1, epsilon=0.01, center=False)(inp),
        L.BatchNormalization(scale=False, epsilon=1e-5)(img),
        L.BatchNormalization(axis=-3, momentum=0.5)(img),
        L.LayerNormalization(axis=[1, 2], epsilon=1e-5)(inp),
        L.LayerNormalization(center=False, scale=False)(inp),
        L.LayerNormalization(axis=[-3, -1], epsilon=0.1)(img),
        L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2)(inp),
        L.ReLU(max_value=6.0)(L.Dense(5)(inp)),
        L.ReLU(negative_slope=0.3)(inp),
        L.ReLU(threshold=0.5)(inp),
        L.LeakyReLU(0.15)(inp),
        L.LeakyReLU()(inp),
        L.PReLU(shared_axes=[1])(inp),
        L.PReLU(shared_axes=[1, 2])(img),
        L.PReLU()(img),
        L.ELU(0.5 if is_tf_keras(lib) else 1.0)(inp),
        L.Softmax(axis=1)(inp),
        L.Softmax()(img),
        L.Softmax(axis=[1, 2])(inp),
        L.Dot(axes=1)([L.Flatten()(inp), L.Flatten()(inp)]),
        L.Dot(axes=-1, normalize=True)([inp, L.Dense(5)(inp)]),
        L.Dot(axes=(1, 2), normalize=True)([inp, L.Reshape((3, 4))(L.Dense(12)(L.Flatten()(inp)))]),
        L.Dot(axes=(2, 1))([inp, L.Dense(5)(L.Flatten()(inp))]),
    ]
    if is_tf_keras(lib):  # tf-keras only: ThresholdedReLU, and BatchNormalization over several axes
        outputs += [L.ThresholdedReLU(0.3)(inp), L.BatchNormalization(axis=[1, 3])(img)]
    else:
        outputs.append(L.LayerNormalization(rms_scaling=True, epsilon=0.01)(inp))
    model = stats_positive(randomize(lib.Model([inp, img], outputs), rng))
    return model, [("predict", [2 * normal(rng, B, 4, 5), 2 * normal(rng, B, 3, 4, 2)])]


def crnn(lib, rng):
    """A speech/OCR CRNN: Conv2D, BatchNorm, MaxPool, Permute + Reshape to steps, Bidirectional(GRU), Dense."""
    L = lib.layers
    model = lib.Sequential([
        lib.Input((16, 12, 1)),
        L.Conv2D(4, 3, padding="same", use_bias=False),
        L.BatchNormalization(),
        L.ReLU(),
        L.MaxPooling2D(2),
        L.Conv2D(6, 3, padding="same", activation="relu"),
        L.BatchNormalization(),
        L.MaxPooling2D((2, 1)),
        L.Permute((2, 1, 3)),
        L.Reshape((6, 4 * 6)),
        L.Bidirectional(L.GRU(4, return_sequences=True)),
        L.Dense(5, activation="softmax"),
    ])
    return stats_positive(randomize(model, rng)), [("predict", normal(rng, B, 16, 12, 1))]


def cnn_gru_1d(lib, rng):
    """A CNN-GRU on 1D signals: causal and dilated Conv1D, BatchNorm, pooling, LayerNorm, GRU, global max."""
    L = lib.layers
    model = lib.Sequential([
        lib.Input((20, 3)),
        L.Conv1D(8, 5, padding="causal", activation="relu"),
        L.BatchNormalization(),
        L.MaxPooling1D(2),
        L.SeparableConv1D(8, 3, padding="same", dilation_rate=2),
        L.LeakyReLU(),
        L.LayerNormalization(),
        L.GRU(6, return_sequences=True),
        L.GlobalMaxPooling1D(),
        L.Dense(2),
    ])
    return stats_positive(randomize(model, rng)), [("predict", normal(rng, B, 20, 3))]


def text_masked_mean(lib, rng):
    """Embedding(mask_zero) -> GRU(return_sequences) -> masked layers -> GlobalAveragePooling1D's masked mean."""
    L = lib.layers
    inp = lib.Input((6,), dtype="int32")
    h = L.GRU(5, return_sequences=True)(L.Embedding(10, 4, mask_zero=True)(inp))
    h = L.PReLU()(L.BatchNormalization()(L.LayerNormalization()(h)))
    outputs = [L.Dense(3, activation="softmax")(L.GlobalAveragePooling1D()(h)),
               L.GlobalAveragePooling1D(keepdims=True)(L.ReLU()(h)),
               L.GlobalMaxPooling1D()(h),  # ignores the mask in both versions: the max over masked steps too
               L.GRU(2)(L.Conv1D(3, 2, padding="same")(h))]  # the convolution drops the mask: the GRU sees every step
    model = stats_positive(randomize(lib.Model(inp, outputs), rng))
    return model, [("predict", ids(rng))]


def float64_layers(lib, rng):
    """The new layers in float64 (tolerance 1e-10), with a masked mean."""
    L = lib.layers
    kw = {"dtype": "float64"}
    inp = lib.Input((8, 3), dtype="float64")
    h = L.Conv1D(4, 3, padding="same", activation="elu", **kw)(inp)
    h = L.SeparableConv1D(4, 2, padding="causal" if is_tf_keras(lib) else "same", **kw)(h)
    h = L.BatchNormalization(**kw)(L.DepthwiseConv1D(2, padding="same", **kw)(h))
    h = L.AveragePooling1D(2, padding="same", **kw)(L.LayerNormalization(**kw)(h))
    img = L.Reshape((4, 4, 1), **kw)(h)
    g = L.MaxPooling2D(2, padding="same", **kw)(L.Conv2D(2, 2, padding="same", **kw)(img))
    masked = L.GRU(3, return_sequences=True, **kw)(L.Masking(**kw)(inp))
    outputs = [L.Softmax(**kw)(L.Flatten(**kw)(g)), L.GlobalAveragePooling1D(**kw)(L.PReLU(**kw)(masked))]
    model = stats_positive(randomize(lib.Model(inp, outputs), rng))
    x = rng.normal(size=(B, 8, 3))
    x[0, :3] = 0.0
    x[1, -2:] = 0.0
    return model, [("predict", x)]


# --- issue 14: models used as layers ---


def nested_gru(lib, rng):
    """A GRU wrapped in a nested Sequential (and a Sequential in that one)."""
    L = lib.layers
    inner = lib.Sequential([lib.Input((T, F)), L.GRU(4, return_sequences=True), L.GRU(3)], name="inner")
    wrapper = lib.Sequential([lib.Input((T, F)), L.Masking(), inner], name="wrapper")
    model = seq(lib, wrapper, L.Dense(2))
    return randomize(model, rng), [("predict", masked_input(rng))]


def nested_masked(lib, rng):
    """Embedding(mask_zero) outside; inside, a Functional (BatchNormalization, a frozen nested Sequential, a
    GRU) inside a Sequential inside the Functional model, then a nested two-output Functional: the mask
    reaches every inner GRU and comes back out."""
    L = lib.layers
    frozen = lib.Sequential([lib.Input((6, 4)), L.Dense(4, activation="tanh"), L.BatchNormalization()], name="frozen")
    frozen.trainable = False
    x = lib.Input((6, 4))
    deepest = lib.Model(x, L.GRU(4, return_sequences=True)(L.BatchNormalization()(frozen(x))), name="deepest")
    middle = lib.Sequential([lib.Input((6, 4)), L.Dense(4), deepest], name="middle")
    y = lib.Input((6, 4))
    two = lib.Model(y, [L.GRU(3)(y), L.Dense(2)(y)], name="two")
    ids_in = lib.Input((6,), dtype="int32")
    steps = middle(L.Embedding(10, 4, mask_zero=True)(ids_in))
    last, per_step = two(steps)
    outputs = [L.Dense(2)(last), L.GRU(2)(per_step), L.GlobalAveragePooling1D()(steps)]
    model = randomize(lib.Model(ids_in, outputs), rng)
    for sub in (frozen, deepest):
        stats_positive(sub)
    return model, [("predict", ids(rng))]


def nested_float64(lib, rng):
    """A nested Functional of float64 layers (tolerance 1e-10), masked."""
    L = lib.layers
    kw = {"dtype": "float64"}
    x = lib.Input((T, F), dtype="float64")
    inner = lib.Model(x, L.Dense(2, **kw)(L.GRU(3, return_sequences=True, **kw)(x)), name="inner64")
    outer_in = lib.Input((T, F), dtype="float64")
    model = lib.Model(outer_in, L.GRU(2, **kw)(inner(L.Masking(**kw)(outer_in))))
    data = rng.normal(size=(B, T, F))
    data[0, :2] = 0.0
    data[1, -1] = 0.0
    return randomize(model, rng), [("predict", data)]


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
    "conv1d_options": conv1d_options,
    "conv2d_options": conv2d_options,
    "norm_and_activations": norm_and_activations,
    "crnn": crnn,
    "cnn_gru_1d": cnn_gru_1d,
    "text_masked_mean": text_masked_mean,
    "float64_layers": float64_layers,
    "nested_gru": nested_gru,
    "nested_masked": nested_masked,
    "nested_float64": nested_float64,
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
