"""``Model.trace`` and ``Model.layer_outputs`` against Keras's intermediate outputs, read with a Keras sub-model.

Every GRU of the stacked, masked (go_backwards inside), Bidirectional and initial-state zoo models is
traced inside the model; its input, step outputs and final state are compared with what a Keras
sub-model ``Model(inputs, layer.input / layer.output)`` returns, in Keras 3 and tf-keras.
"""

from __future__ import annotations

import numpy as np
import pytest

import refgru
from refgru.model.layers_rnn import MERGE_MODES

MODELS = ("stacked", "masking", "bidirectional_masked", "initial_state")
#: float32 through up to four stacked layers.
ATOL = 2e-5


def keras_values(lib, keras_model, tensors: list, x):
    """Keras's values of ``tensors`` (layer inputs/outputs of ``keras_model``) on ``x``, as NumPy arrays."""
    flat, shape = [], []
    for t in tensors:
        items = list(t) if isinstance(t, (list, tuple)) else [t]
        shape.append(len(items) if isinstance(t, (list, tuple)) else None)
        flat += items
    sub = lib.Model(keras_model.inputs, flat)
    got = sub.predict(x, verbose=0)
    got = [np.asarray(g) for g in (got if isinstance(got, (list, tuple)) else [got])]
    out, i = [], 0
    for n in shape:
        out.append(got[i] if n is None else got[i:i + n])
        i += 1 if n is None else n
    return out


def first(value):
    return value[0] if isinstance(value, (list, tuple)) else value


def step_outputs(tr, layer_options: dict) -> tuple[np.ndarray, np.ndarray]:
    """The layer's output as Keras returns it from a trace: every step (return_sequences) or the last, and the state."""
    return (tr.h if layer_options["return_sequences"] else tr.h[:, -1]), tr.state


@pytest.fixture(scope="module", params=[(lib, name) for lib in ("keras", "tf_keras") for name in MODELS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def zoo(request):
    import model_zoo
    from keras_ref import LIBS  # noqa: F401  (skips without Keras; sets the backend)

    lib = pytest.importorskip(request.param[0])
    keras_model, steps = model_zoo.ZOO[request.param[1]](lib, np.random.default_rng(17))
    return lib, keras_model, steps[0][1], refgru.from_keras(keras_model)


def test_trace_of_every_gru_equals_keras_intermediate_outputs(zoo):
    lib, keras_model, x, model = zoo
    labels = [label for label, _, _ in model.gru_layers()]
    keras_layers = [keras_model.get_layer(label.split("/")[0]) for label in labels]
    names = list(dict.fromkeys(layer.name for layer in keras_layers))
    inputs = keras_values(lib, keras_model, [keras_model.get_layer(n).input for n in names], x)
    outputs = keras_values(lib, keras_model, [keras_model.get_layer(n).output for n in names], x)
    traces = {label: model.trace(x, layer=label) for label in labels}
    for label, (_, _, options) in zip(labels, model.gru_layers(), strict=True):
        tr, name = traces[label], label.split("/")[0]
        k_in = first(inputs[names.index(name)])
        expected_x = np.flip(k_in, axis=1) if tr.go_backwards else k_in
        np.testing.assert_allclose(tr.x, expected_x, atol=ATOL, err_msg=f"{label}: input")
        k_out = outputs[names.index(name)]
        if "/" not in label:
            y, state = step_outputs(tr, options)
            np.testing.assert_allclose(y, first(k_out), atol=ATOL, err_msg=f"{label}: output")
            if options["return_state"]:
                np.testing.assert_allclose(state, k_out[1], atol=ATOL, err_msg=f"{label}: state")
    for name in names:  # a Bidirectional: the two traces, merged as Keras merges them, give its output
        if f"{name}/forward" not in traces:
            continue
        layer = keras_model.get_layer(name)
        fw, bw = traces[f"{name}/forward"], traces[f"{name}/backward"]
        seqs = layer.forward_layer.return_sequences
        y_fw, y_bw = (fw.h, np.flip(bw.h, axis=1)) if seqs else (fw.h[:, -1], bw.h[:, -1])
        merged = MERGE_MODES[layer.merge_mode](y_fw, y_bw)
        expected = outputs[names.index(name)]
        if isinstance(merged, list):
            for part, want in zip(merged, expected, strict=True):
                np.testing.assert_allclose(part, want, atol=ATOL, err_msg=f"{name}: output")
        else:
            np.testing.assert_allclose(merged, first(expected), atol=ATOL, err_msg=f"{name}: output")


def test_layer_outputs_equal_keras_sub_models(zoo):
    lib, keras_model, x, model = zoo
    outs = model.layer_outputs(x)
    layers = [layer for layer in keras_model.layers if type(layer).__name__ != "InputLayer"]
    expected = keras_values(lib, keras_model, [layer.output for layer in layers], x)
    for layer, want in zip(layers, expected, strict=True):
        got = outs[layer.name]
        if isinstance(want, (list, tuple)):
            assert isinstance(got, list) and len(got) == len(want), layer.name
            for g, w in zip(got, want, strict=True):
                np.testing.assert_allclose(g, w, atol=ATOL, err_msg=layer.name)
        else:
            np.testing.assert_allclose(got, want, atol=ATOL, err_msg=layer.name)
    feeds = x if isinstance(x, list) else [x]
    for name, feed in zip(model.input_names, feeds, strict=True):
        np.testing.assert_array_equal(outs[name], feed)


def test_trace_refuses_unknown_and_ambiguous_layers(zoo):
    _, keras_model, x, model = zoo
    labels = [label for label, _, _ in model.gru_layers()]
    with pytest.raises(refgru.RefgruError, match="^layer: expected the name of a GRU"):
        model.trace(x, layer="no_such_layer")
    if len(labels) > 1:
        with pytest.raises(refgru.RefgruError, match="^layer: expected one of the"):
            model.trace(x)
    bidi = [label.split("/")[0] for label in labels if label.endswith("/forward")]
    if bidi:
        with pytest.raises(refgru.RefgruError, match="name a direction"):
            model.trace(x, layer=bidi[0])
