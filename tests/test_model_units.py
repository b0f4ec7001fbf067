"""refgru.model piece by piece: safety checks, the registry, weights layout helpers, from_keras, Model API.

The end-to-end agreement of every supported layer with Keras is in test_model_zoo.py; these tests pin
the parts around it, against Keras where there is a Keras number or name to compare with.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_close

import refgru
from refgru.errors import RefgruError
from refgru.model import REGISTRY
from refgru.model.config import check_safe, parse_model_config
from refgru.model.files import snake_case
from refgru.model.layers_rnn import cudnn_to_keras
from refgru.model.ops import build_op
from refgru.model.registry import Context, build

PACKAGE = os.path.join(os.path.dirname(refgru.__file__))
LAMBDA_CODE = {"class_name": "__lambda__", "config": {"code": "4wEAAAAA", "defaults": None, "closure": None}}


def seq_config(*layers):
    return {"class_name": "Sequential", "config": {"name": "s", "layers": list(layers)}}


@pytest.mark.parametrize(
    "config, words",
    [
        (
            seq_config(
                {
                    "class_name": "TimeDistributed",
                    "config": {"name": "td", "layer": {"class_name": "Lambda", "config": {"name": "inner"}}},
                }
            ),
            "layer 'inner' (Lambda)",
        ),
        (
            seq_config({"class_name": "Dense", "config": {"name": "d", "units": 1, "activation": LAMBDA_CODE}}),
            "__lambda__",
        ),
        (
            seq_config({"module": "my_pkg.layers", "class_name": "Doubler", "config": {"name": "dbl"}}),
            "module 'my_pkg.layers'",
        ),
        (
            seq_config({"class_name": "Doubler", "registered_name": "Custom>Doubler", "config": {"name": "dbl"}}),
            "registered as 'Custom>Doubler'",
        ),
        (
            seq_config(
                {
                    "class_name": "Dense",
                    "config": {
                        "name": "d",
                        "units": 1,
                        "kernel_initializer": {"module": "__main__", "class_name": "MyInit", "config": {}},
                    },
                }
            ),
            "module '__main__'",
        ),
    ],
)
def test_code_and_custom_objects_are_refused(config, words):
    with pytest.raises(RefgruError, match=re.escape(words)) as info:
        check_safe(config)
    assert "never runs code" in str(info.value)


def test_subclassed_model_is_refused():
    with pytest.raises(RefgruError, match="expected Sequential or Functional, got 'MyModel'"):
        parse_model_config({"class_name": "MyModel", "config": {}})


def test_unsupported_layer_names_class_and_layer():
    ctx = Context(3, build=lambda spec, arrays: build(spec, arrays, ctx))
    with pytest.raises(RefgruError, match=re.escape("layer 'conv' (Conv3D)") + ".*unsupported class 'Conv3D'"):
        build({"class_name": "Conv3D", "config": {"name": "conv"}}, [], ctx)
    refusal = re.escape("layer 'b' (Bidirectional) layer: expected a recurrent layer") + ".*got 'Dense'"
    with pytest.raises(RefgruError, match=refusal):
        build(
            {"class_name": "Bidirectional", "config": {"name": "b", "layer": {"class_name": "Dense", "config": {}}}},
            [],
            ctx,
        )
    with pytest.raises(RefgruError, match="op 'einsum' \\(Einsum\\)"):
        build_op("Einsum", {}, "einsum")


def test_custom_activation_function_is_refused():
    ctx = Context(3, build=None)
    spec = {
        "class_name": "Dense",
        "config": {
            "name": "d",
            "units": 1,
            "activation": {"module": "builtins", "class_name": "function", "config": "print"},
        },
    }
    with pytest.raises(RefgruError, match="layer 'd' activation: expected the name of a built-in Keras activation"):
        build(spec, [np.ones((2, 1), "float32"), np.ones(1, "float32")], ctx)


def test_registry_has_every_layer_of_the_issue():
    issue = {
        "InputLayer",
        "GRU",
        "Bidirectional",
        "Masking",
        "Embedding",
        "Dense",
        "TimeDistributed",
        "Dropout",
        "SpatialDropout1D",
        "GaussianNoise",
        "GaussianDropout",
        "Activation",
        "Flatten",
        "Reshape",
        "RepeatVector",
        "Concatenate",
        "Add",
        "CuDNNGRU",
    }
    assert issue <= set(REGISTRY)


def test_snake_case_is_keras_naming():
    naming = pytest.importorskip("keras.src.utils.naming")
    for name in [
        "GRU",
        "TimeDistributed",
        "CuDNNGRU",
        "InputLayer",
        "Bidirectional",
        "SpatialDropout1D",
        "RepeatVector",
        "Conv1D",
    ]:
        assert snake_case(name) == naming.to_snake_case(name), name


def test_cudnn_conversion_is_tf_keras_conversion():
    """cudnn_to_keras gives bit-identical arrays to tf-keras's own CuDNNGRU -> GRU(reset_after=True) conversion."""
    tf_keras = pytest.importorskip("tf_keras")
    from tf_keras.src.saving.legacy.hdf5_format import preprocess_weights_for_loading

    rng = np.random.default_rng(1)
    layer = tf_keras.layers.GRU(3, reset_after=True)
    layer.build((None, 4, 5))
    arrays = [rng.normal(size=s).astype("float32") for s in [(5, 9), (3, 9), (18,)]]
    expected = preprocess_weights_for_loading(layer, arrays)
    for name, ours, theirs in zip(
        ["kernel", "recurrent_kernel", "bias"], cudnn_to_keras(*arrays), expected, strict=True
    ):
        assert np.array_equal(ours, theirs), name
    assert not np.array_equal(expected[0], arrays[0]), "the conversion must not be the identity here"


def test_import_is_lazy_and_there_is_no_pickle():
    code = (
        "import sys, refgru, refgru.model, refgru.model_cli\n"
        "print(sorted(m for m in ('h5py', 'tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
    sources = [
        os.path.join(PACKAGE, "model", f) for f in os.listdir(os.path.join(PACKAGE, "model")) if f.endswith(".py")
    ]
    for path in sources + [os.path.join(PACKAGE, "model_cli.py")]:
        with open(path) as handle:
            text = handle.read()
        assert not re.search(
            r"import (pickle|marshal)|allow_pickle=True|pickle\.load|marshal\.load|\beval\(|\bexec\(", text
        ), path


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights(
        [
            (rng.uniform(0.05, 1, w.shape) * rng.choice([-1, 1], w.shape) * 0.6).astype(w.dtype)
            for w in model.get_weights()
        ]
    )
    return model


def bidirectional_model(lib):
    L = lib.layers
    inp = lib.Input((5, 3), name="x")
    b = L.Bidirectional(L.GRU(3, return_sequences=True, name="inner"), name="bi")(L.Masking()(inp))
    top = L.GRU(2, name="top", recurrent_activation="hard_sigmoid")(b)
    return randomize(lib.Model(inp, [L.Dense(2, name="head")(top), top]))


def masked_x(seed=0):
    x = np.random.default_rng(seed).normal(size=(3, 5, 3)).astype("float32")
    x[0, :2] = 0
    x[1, 3:] = 0
    return x


@pytest.mark.parametrize("lib_name", ["keras", "tf_keras"])
def test_from_keras_and_gru_layers(lib_name):
    """from_keras gives Keras's numbers; gru_layers() labels every GRU and hands back its exact arrays."""
    lib = pytest.importorskip(lib_name)
    model = bidirectional_model(lib)
    x = masked_x()
    ours = refgru.from_keras(model)
    expected = [np.asarray(t) for t in model(x)]
    assert_close(f"{lib_name} from_keras", ours.predict(x), expected)
    version = 3 if lib_name == "keras" else 2
    labels = [label for label, _, _ in ours.gru_layers()]
    assert labels == ["bi/forward", "bi/backward", "top"]
    keras_grus = [model.get_layer("bi").forward_layer, model.get_layer("bi").backward_layer, model.get_layer("top")]
    for (label, w, config), layer in zip(ours.gru_layers(), keras_grus, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(w.to_keras(), layer.get_weights(), strict=True)), label
        assert config["keras_version"] == version and config["reset_after"] is True
        assert config["activation"] == "tanh"
    assert ours.gru_layers()[2][2]["recurrent_activation"] == "hard_sigmoid"
    assert ours.gru_layers()[1][2]["go_backwards"] is True


@pytest.mark.parametrize("lib_name", ["keras", "tf_keras"])
def test_summary_lists_layers_and_keras_param_count(lib_name):
    lib = pytest.importorskip(lib_name)
    model = bidirectional_model(lib)
    text = refgru.from_keras(model).summary(print_fn=None)
    for layer in model.layers:
        assert f"{layer.name} ({type(layer).__name__})" in text
        assert re.search(rf"{re.escape(layer.name)} \(\w+\)\s+{layer.count_params()}\s", text), layer.name
    assert f"Total params: {model.count_params()}" in text
    assert f"Keras {3 if lib_name == 'keras' else 2} semantics" in text


@pytest.mark.parametrize("lib_name, ext", [("keras", ".keras"), ("tf_keras", ".h5")])
def test_output_structure_is_what_keras_predict_returns(tmp_path, lib_name, ext):
    """A saved multi-output model predicts a list in both Keras versions; a lone output in [out] an array."""
    lib = pytest.importorskip(lib_name)
    L = lib.layers
    inp = lib.Input((5, 3))
    out, h = L.GRU(3, return_state=True)(inp)
    x = masked_x()
    for outputs in ([out, h, L.Dense(1)(h)], [L.Dense(2)(out)]):
        path = str(tmp_path / f"m{len(outputs)}{ext}")
        randomize(lib.Model(inp, outputs)).save(path)
        expected = lib.models.load_model(path, compile=False).predict(x, verbose=0)
        if isinstance(expected, list):
            expected = [np.asarray(e) for e in expected]
        assert_close(f"{lib_name} {len(outputs)} outputs", refgru.load_model(path).predict(x), expected)


def test_tuple_and_dict_outputs_of_keras3():
    """Keras 3 predicts a tuple for a model built with one (from_keras follows), and a dict for a dict."""
    keras = pytest.importorskip("keras")
    L = keras.layers
    inp = keras.Input((5, 3))
    out, h = L.GRU(3, return_state=True)(inp)
    x = masked_x()
    model = randomize(keras.Model(inp, (out, L.Dense(1)(h))))
    expected = model.predict(x, verbose=0)
    assert isinstance(expected, tuple)
    assert_close("tuple outputs", refgru.from_keras(model).predict(x), tuple(np.asarray(e) for e in expected))
    model = randomize(keras.Model(inp, {"seq": out, "state": h}))
    expected = model.predict(x, verbose=0)
    ours = refgru.from_keras(model).predict(x)
    assert isinstance(ours, dict) and sorted(ours) == sorted(expected) == ["seq", "state"]
    for key in expected:
        assert_close(f"dict output {key}", ours[key], np.asarray(expected[key]))


def test_inputs_batches_and_their_errors():
    keras = pytest.importorskip("keras")
    L = keras.layers
    a, b = keras.Input((5, 3), name="a"), keras.Input((4, 2), name="b")
    model = randomize(keras.Model([a, b], L.Add()([L.GRU(2)(a), L.GRU(2)(b)])))
    rng = np.random.default_rng(3)
    xa, xb = rng.normal(size=(5, 5, 3)).astype("float32"), rng.normal(size=(5, 4, 2)).astype("float32")
    ours = refgru.from_keras(model)
    expected = np.asarray(model([xa, xb]))
    assert_close("list inputs", ours.predict([xa, xb]), expected)
    assert_close("dict inputs", ours.predict({"a": xa, "b": xb}), expected)
    assert_close("batch_size=2", ours.predict((xa, xb), batch_size=2), expected)
    assert_close("__call__", ours([xa, xb]), expected)
    with pytest.raises(RefgruError, match="x: expected 2 input arrays"):
        ours.predict(xa)
    with pytest.raises(RefgruError, match="x: expected the same batch size"):
        ours.predict([xa, xb[:2]])
    with pytest.raises(RefgruError, match="batch_size: expected a positive int"):
        ours.predict([xa, xb], batch_size=0)
    with pytest.raises(RefgruError, match=r"x\['a'\]: expected shape \(batch, 5, 3\), as the model's input declares"):
        ours.predict([xa[..., :2], xb])  # a functional model refuses it at its input, as Keras does


def test_stateful_keeps_its_batch_until_reset():
    keras = pytest.importorskip("keras")
    model = randomize(keras.Sequential([keras.Input(batch_shape=(2, 5, 3)), keras.layers.GRU(2, stateful=True)]))
    ours = refgru.from_keras(model)
    x = masked_x()[:2]
    first = ours.predict(x)
    assert not np.allclose(ours.predict(x), first), "the carried state must change the second output"
    with pytest.raises(RefgruError, match="expected 2 rows.*reset_states"):
        ours.predict(masked_x())
    ours.reset_states()
    assert_close("after reset_states", ours.predict(x), first)


def test_old_keras_file_runs_with_keras2_hard_sigmoid(tmp_path):
    """A Keras 2.1.4 file gets Keras 2 semantics; Keras 3's hard_sigmoid would give other numbers."""
    import model_legacy

    rng = np.random.default_rng(4)
    arrays = [model_legacy.random(rng, *s, scale=2.0) for s in [(3, 6), (2, 6), (6,)]]
    config = {"class_name": "Sequential", "config": [model_legacy._old_gru("gru_1", 2, batch_input_shape=[None, 4, 3])]}
    path = str(tmp_path / "old.h5")
    model_legacy.write_h5(
        path,
        config,
        [("gru_1", [(f"gru_1/{n}:0", a) for n, a in zip(["kernel", "recurrent_kernel", "bias"], arrays, strict=True)])],
        "2.1.4",
    )
    model = refgru.load_model(path)
    ((label, w, options),) = model.gru_layers()
    assert (model.keras_version, label, options["reset_after"], options["recurrent_activation"]) == (
        2,
        "gru_1",
        False,
        "hard_sigmoid",
    )
    x = 2 * rng.normal(size=(3, 4, 3)).astype("float32")
    assert_close(
        "Keras 2 semantics",
        model.predict(x),
        refgru.gru(x, arrays, recurrent_activation="hard_sigmoid", keras_version=2),
    )
    keras3 = refgru.gru(x, arrays, recurrent_activation="hard_sigmoid", keras_version=3)
    assert np.abs(model.predict(x) - keras3).max() > 1e-3
