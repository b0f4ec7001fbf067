"""Keras GRU weights <-> the ONNX GRU operator.

onnxruntime computes what Keras 3 and tf-keras compute, and round trips are bit-identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import LIBS, assert_close, keras_gru, raises, random_weights, tf
from hypothesis import given, settings
from hypothesis import strategies as st

import refgru
from refgru import convert
from refgru.onnx_export import ONNX_ACTIVATIONS, onnx_activations

# Every test here builds or runs an ONNX graph; the NumPy-only layout and refusal tests are in
# test_convert_numpy.py. Keras is imported lazily (helpers.LIBS, tf, keras_gru) by the tests that run it.
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper, numpy_helper  # noqa: E402


def ort_run(model, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def keras_outputs(result) -> list[np.ndarray]:
    """Keras's output (an array, or a tuple/list with return_state) as a flat list."""
    return list(result) if isinstance(result, (list, tuple)) else [result]


def same(name: str, actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected), f"{name}: {len(actual)} arrays != {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a.dtype == e.dtype and a.shape == e.shape, f"{name}[{i}]: {a.dtype}{a.shape} != {e.dtype}{e.shape}"
        assert np.array_equal(a, e), f"{name}[{i}]: not bit-identical"


def gru_node_model(arrays: dict, attributes: dict, steps: int, batch: int, input_dim: int, direction: str = "forward"):
    """A bare ONNX GRU node as a user would build it from ``to_onnx()``: time-major X (T, B, F) -> Y (T, D, B, u)."""
    d, u = arrays["W"].shape[0], arrays["R"].shape[2]
    names = ["W", "R"] + ([] if arrays.get("B") is None else ["B"])
    node = helper.make_node("GRU", ["X"] + names, ["Y", "Y_h"], hidden_size=u, direction=direction,
                            linear_before_reset=arrays["linear_before_reset"], **attributes)
    f32 = onnx.TensorProto.FLOAT
    graph = helper.make_graph([node], "gru", [helper.make_tensor_value_info("X", f32, (steps, batch, input_dim))],
                              [helper.make_tensor_value_info("Y", f32, (steps, d, batch, u)),
                               helper.make_tensor_value_info("Y_h", f32, (d, batch, u))],
                              [numpy_helper.from_array(arrays[n], n) for n in names])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=7)


@st.composite
def export_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, steps, input_dim, units = (draw(st.integers(1, n)) for n in (3, 5, 4, 4))
    reset_after, use_bias = draw(st.booleans()), draw(st.booleans())
    weights = random_weights(rng, input_dim, units, reset_after=reset_after, use_bias=use_bias)
    x = rng.normal(size=(batch, steps, input_dim)).astype("float32")
    h0 = rng.normal(size=(batch, units)).astype("float32") if draw(st.booleans()) else None
    flags = ("return_sequences", "return_state", "go_backwards")
    config = {"reset_after": reset_after, **{k: draw(st.booleans()) for k in flags}}
    return draw(st.sampled_from([3, 2])), weights, x, h0, config


@settings(max_examples=30)
@given(export_cases())
def test_export_onnx_equals_keras(case):
    """Both variants (linear_before_reset 1 and 0), no bias, initial state, every output option and go_backwards."""
    version, weights, x, h0, config = case
    expected = keras_outputs(keras_gru(version, weights, x, initial_state=h0, **config))
    w = refgru.GRUWeights.from_keras(weights, config["reset_after"])
    options = {k: v for k, v in config.items() if k != "reset_after"}
    model = refgru.export_onnx(w, None, keras_version=version, initial_state=h0 is not None, **options)
    (node,) = [n for n in model.graph.node if n.op_type == "GRU"]
    assert {a.name: a.i for a in node.attribute}["linear_before_reset"] == int(config["reset_after"])
    actual = ort_run(model, {"x": x, **({} if h0 is None else {"initial_state": h0})})
    assert_close(f"onnxruntime vs Keras {version} {config}", actual, expected)


#: Gate activations with values in [0, 1] or [-1, 1], for which the recurrence stays bounded.
BOUNDED = {"sigmoid", "hard_sigmoid", "sparse_sigmoid", "tanh", "softsign"}


def pairs(version: int) -> list[tuple[str, str]]:
    """Every mapped name once as the candidate activation and once as the gate activation."""
    names = sorted(ONNX_ACTIVATIONS[version])
    return [(name, "sigmoid") for name in names] + [("tanh", name) for name in names if name != "sigmoid"]


@pytest.mark.parametrize("version, activation, recurrent_activation", [(v, *p) for v in (3, 2) for p in pairs(v)])
def test_each_activation_mapping_equals_keras(version, activation, recurrent_activation):
    """Large weights drive bounded gates into the saturated parts of hard_sigmoid and sparse_sigmoid; small weights
    keep an unbounded gate activation (relu, elu, ...) from blowing the recurrence up to 1e9, where float32 rounding
    alone exceeds the tolerance."""
    rng = np.random.default_rng(11)
    scale = 1.5 if recurrent_activation in BOUNDED else 0.4
    for reset_after in (True, False):
        weights = random_weights(rng, 3, 4, reset_after=reset_after, scale=scale)
        x = (rng.normal(size=(3, 6, 3)) * 2).astype("float32")
        config = dict(activation=activation, recurrent_activation=recurrent_activation, reset_after=reset_after,
                      return_sequences=True)
        expected = keras_gru(version, weights, x, **config)
        model = refgru.export_onnx(weights, None, activation=activation, recurrent_activation=recurrent_activation,
                                   keras_version=version, return_sequences=True)
        (actual,) = ort_run(model, {"x": x})
        assert_close(f"onnxruntime vs Keras {version} {config}", actual, expected)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_to_onnx_arrays_in_a_bare_gru_node_equal_keras(reset_after, bidirectional):
    """to_onnx() (and to_onnx([forward, backward])) fed to a hand-built node vs GRU / Bidirectional(GRU, concat)."""
    rng = np.random.default_rng(12)
    batch, steps, input_dim, units = 2, 5, 3, 4
    layers = [random_weights(rng, input_dim, units, reset_after=reset_after) for _ in range(2 if bidirectional else 1)]
    x = rng.normal(size=(batch, steps, input_dim)).astype("float32")
    for version in (3, 2):
        lib = LIBS[version]
        gru = lib.layers.GRU(units, reset_after=reset_after, return_sequences=True)
        layer = lib.layers.Bidirectional(gru, merge_mode="concat") if bidirectional else gru
        layer.build((None, steps, input_dim))
        layer.set_weights([a for w in layers for a in w])
        expected = np.asarray(layer(tf.constant(x)))
        weights = [refgru.GRUWeights.from_keras(w) for w in layers]
        arrays = convert.to_onnx(weights) if bidirectional else weights[0].to_onnx()
        assert arrays["W"].shape == (len(layers), 3 * units, input_dim)
        assert arrays["R"].shape == (len(layers), 3 * units, units)
        assert arrays["B"].shape == (len(layers), 6 * units) and arrays["linear_before_reset"] == int(reset_after)
        model = gru_node_model(arrays, onnx_activations(num_directions=len(layers)), steps, batch, input_dim,
                               "bidirectional" if bidirectional else "forward")
        Y, _ = ort_run(model, {"X": x.transpose(1, 0, 2)})
        actual = Y.transpose(2, 0, 1, 3).reshape(batch, steps, -1)  # (T, D, B, u) -> (B, T, D*u) = [fw, bw]
        name = f"bare node vs Keras {version} (reset_after={reset_after}, bidirectional={bidirectional})"
        assert_close(name, actual, expected)


def read_gru(model) -> dict:
    """The W, R, B initializers and linear_before_reset of the one GRU node in ``model``."""
    node = next(n for n in model.graph.node if n.op_type == "GRU")
    init = {t.name: t for t in model.graph.initializer}
    names = (list(node.input[1:4]) + ["", ""])[:3]
    arrays = {key: init[name] if name else None for key, name in zip(["W", "R", "B"], names, strict=True)}
    return {**arrays, "linear_before_reset": {a.name: a.i for a in node.attribute}.get("linear_before_reset", 0)}


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reset_after, use_bias", [(True, True), (False, True), (True, False), (False, False)])
def test_round_trip_keras_onnx_file_keras_is_bit_identical(tmp_path, version, dtype, reset_after, use_bias):
    """Keras get_weights -> export_onnx file -> its initializers -> from_onnx -> a new Keras layer: same bits, dtype."""
    lib = LIBS[version]
    layer = lib.layers.GRU(3, reset_after=reset_after, use_bias=use_bias, dtype=dtype, bias_initializer="random_normal")
    layer.build((None, None, 2))
    original = layer.get_weights()
    w = refgru.GRUWeights(*original[:2], original[2] if use_bias else None, reset_after=reset_after)
    refgru.export_onnx(w, tmp_path / "gru.onnx")
    back = refgru.GRUWeights.from_onnx(**read_gru(onnx.load(str(tmp_path / "gru.onnx"))))
    assert back.reset_after == reset_after and back.dtype == np.dtype(dtype)
    copy = lib.layers.GRU(3, reset_after=reset_after, use_bias=use_bias, dtype=dtype)
    copy.build((None, None, 2))
    copy.set_weights(back.to_keras())
    same("Keras -> ONNX -> Keras", copy.get_weights(), original)


def test_from_onnx_reads_tensor_protos():
    fw = refgru.GRUWeights.from_keras(random_weights(np.random.default_rng(14), 3, 2, dtype="float64"))
    one = fw.to_onnx()
    tensors = {k: numpy_helper.from_array(one[k], k) for k in ("W", "R", "B")}
    same("TensorProto inputs", convert.from_onnx(**tensors, linear_before_reset=1).to_keras(), fw.to_keras())


@pytest.mark.parametrize("linear_before_reset", [1, 0])
@pytest.mark.parametrize("directions", [1, 2])
def test_onnx_gru_with_random_weights_imports_to_keras(linear_before_reset, directions):
    """ONNX -> Keras on weights ONNX-side: random W, R and B with non-zero Rb, for both attribute values.

    With linear_before_reset=0 ONNX adds Rb beside Wb in every gate, so the Keras (3u,) bias is Wb + Rb.
    """
    rng = np.random.default_rng(15 + linear_before_reset)
    batch, steps, input_dim, u = 2, 5, 3, 4
    arrays = {"W": rng.normal(size=(directions, 3 * u, input_dim)).astype("float32") * 0.6,
              "R": rng.normal(size=(directions, 3 * u, u)).astype("float32") * 0.6,
              "B": rng.normal(size=(directions, 6 * u)).astype("float32"), "linear_before_reset": linear_before_reset}
    x = rng.normal(size=(batch, steps, input_dim)).astype("float32")
    node = gru_node_model(arrays, {}, steps, batch, input_dim, "bidirectional" if directions == 2 else "forward")
    Y, _ = ort_run(node, {"X": x.transpose(1, 0, 2)})
    layers = convert.from_onnx(**arrays)
    layers = layers if directions == 2 else [layers]
    assert all(w.reset_after == bool(linear_before_reset) for w in layers)
    for version in (3, 2):
        lib = LIBS[version]
        gru = lib.layers.GRU(u, reset_after=bool(linear_before_reset), return_sequences=True)
        layer = lib.layers.Bidirectional(gru) if directions == 2 else gru
        layer.build((None, steps, input_dim))
        layer.set_weights([a for w in layers for a in w.to_keras()])
        assert_close(f"Keras {version} vs onnxruntime (linear_before_reset={linear_before_reset})",
                     Y.transpose(2, 0, 1, 3).reshape(batch, steps, -1), np.asarray(layer(tf.constant(x))))


@pytest.mark.parametrize("reset_after", [True, False])
def test_float64_export_equals_keras_in_the_onnx_reference_runtime(reset_after):
    """onnxruntime's GRU kernel is float32-only; ONNX's own reference evaluator runs the float64 model."""
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(16)
    weights = random_weights(rng, 3, 4, reset_after=reset_after, dtype="float64")
    x = rng.normal(size=(2, 5, 3))
    for go_backwards in (False, True):
        config = dict(reset_after=reset_after, return_sequences=True, return_state=True, go_backwards=go_backwards)
        model = refgru.export_onnx(weights, None, return_sequences=True, return_state=True, go_backwards=go_backwards)
        actual = ReferenceEvaluator(model).run(None, {"x": x})
        for version in (3, 2):
            assert_close(f"reference evaluator vs Keras {version} float64 {config}", actual,
                         keras_outputs(keras_gru(version, weights, x, dtype="float64", **config)))


def test_what_onnx_cannot_represent_is_refused():
    rng = np.random.default_rng(17)
    weights = random_weights(rng, 3, 2)
    for name in ("selu", "gelu", "swish", "relu6", "exponential", "mish"):
        raises(f"activation: expected a Keras 3 activation the ONNX GRU operator can compute|got '{name}'|"
               "the operator offers only Relu, Tanh, Sigmoid, Affine", refgru.export_onnx, weights, None,
               activation=name)
    raises("recurrent_activation: expected a Keras 2 activation|got 'sparse_sigmoid'", refgru.export_onnx, weights,
           None, recurrent_activation="sparse_sigmoid", keras_version=2)
    raises("activation: expected a Keras 3 activation|got <ufunc 'tanh'>", refgru.export_onnx, weights, None,
           activation=np.tanh)
    raises("dtype: expected 'float32', 'float64' or None|got 'int32'", refgru.export_onnx, weights, None, dtype="int32")
    raises("go_backwards: expected True or False|got 1", refgru.export_onnx, weights, None, go_backwards=1)


# ------------------------------------------------------------------------------- loaded Keras models

def randomize(model, seed: int, scale: float = 0.5) -> None:
    """Every variable (biases too) random and non-zero."""
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.uniform(0.05, 1.0, w.shape) * rng.choice([-1, 1], w.shape) * scale).astype(w.dtype)
                       for w in model.get_weights()])


def check_model(keras_model, feeds: list[np.ndarray], name: str, **export) -> list[str]:
    """export_onnx(from_keras(model)) in onnxruntime vs calling the Keras model, output by output.

    Returns the ONNX output names."""
    model = refgru.export_onnx(refgru.from_keras(keras_model), None, **export)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert len(session.get_inputs()) == len(feeds)
    actual = session.run(None, {i.name: f for i, f in zip(session.get_inputs(), feeds, strict=True)})
    result = keras_model([tf.constant(f) for f in feeds] if len(feeds) > 1 else tf.constant(feeds[0]), training=False)
    expected = [np.asarray(e) for e in keras_outputs(result)]
    assert_close(name, actual, [np.asarray(e, actual[0].dtype if export.get("dtype") else None) for e in expected])
    return [o.name for o in session.get_outputs()]


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_stacked_and_bidirectional_model_equals_keras(version, merge_mode):
    """GRU(go_backwards, sequences) -> Bidirectional(GRU(reset_after=False), merge_mode) -> Dense, and the
    same Bidirectional returning its last outputs, in Keras 3 and tf-keras models."""
    lib, L = LIBS[version], LIBS[version].layers
    x = np.random.default_rng(20).normal(size=(2, 5, 3)).astype("float32")
    inp = lib.Input((None, 3))
    seq = L.GRU(4, return_sequences=True, go_backwards=True)(inp)
    inner = L.GRU(3, return_sequences=True, reset_after=False, activation="softsign")
    both = L.Bidirectional(inner, merge_mode=merge_mode)(seq)
    last = L.Bidirectional(L.GRU(2, recurrent_activation="hard_sigmoid"), merge_mode=merge_mode)(seq)
    outputs = (both if merge_mode is None else [both]) + (last if merge_mode is None else [L.Dense(2)(last)])
    model = lib.Model(inp, outputs)
    randomize(model, 21)
    check_model(model, [x], f"Keras {version} stacked, Bidirectional merge_mode={merge_mode}")


@pytest.mark.parametrize("version", [3, 2])
def test_functional_model_with_states_embedding_and_merges_equals_keras(version):
    """Encoder-decoder: Embedding -> GRU(return_state) whose state starts a Bidirectional decoder over a
    RepeatVector; TimeDistributed(Dense), Add, Concatenate, Reshape, Flatten, Activation, Dropout."""
    lib, L = LIBS[version], LIBS[version].layers
    rng = np.random.default_rng(22)
    ids = lib.Input((6,), dtype="int32")
    h0 = lib.Input((4,))
    emb = L.Embedding(10, 3)(ids)
    seq, state = L.GRU(4, return_sequences=True, return_state=True)(emb, initial_state=[h0])
    repeated = L.RepeatVector(3)(L.Dense(4, activation="tanh")(state))
    decoded = L.Bidirectional(L.GRU(4, return_sequences=True), merge_mode="sum")(repeated, initial_state=[state, h0])
    mixed = L.Add()([L.TimeDistributed(L.Dense(4))(decoded), L.Dropout(0.5)(decoded)])
    flat = L.Flatten()(L.Reshape((4, 3))(mixed))
    joined = L.Concatenate()([flat, L.Activation("sigmoid")(state)])
    model = lib.Model([ids, h0], [joined, seq])
    randomize(model, 23)
    feeds = [rng.integers(0, 10, size=(2, 6)).astype("int32"), rng.normal(size=(2, 4)).astype("float32")]
    names = check_model(model, feeds, f"Keras {version} encoder-decoder")
    assert len(names) == 2


def test_loaded_model_file_and_dtype_option(tmp_path):
    """A .keras file through refgru.load_model; a float64 model exported as float32 for onnxruntime."""
    L = LIBS[3].layers
    model = LIBS[3].Sequential([LIBS[3].Input((5, 3), dtype="float64"),
                                L.GRU(4, return_sequences=True, dtype="float64"),
                                L.GRU(2, dtype="float64"), L.Dense(3, dtype="float64")])
    randomize(model, 24)
    model.save(tmp_path / "m.keras")
    path = tmp_path / "m.onnx"
    refgru.export_onnx(refgru.load_model(tmp_path / "m.keras"), path, dtype="float32")
    x = np.random.default_rng(25).normal(size=(3, 5, 3))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (actual,) = session.run(None, {session.get_inputs()[0].name: x.astype("float32")})
    assert_close("float64 Keras model exported as float32", actual, np.asarray(model(tf.constant(x))).astype("float32"))


def test_models_onnx_cannot_express_are_refused(monkeypatch):
    lib, L = LIBS[3], LIBS[3].layers
    x = lib.Input((5, 3))
    masked = L.Masking()(x)  # masked models are exported (tests/test_onnx_masks.py), but not merged masks
    merged = lib.Model(x, L.GRU(2)(L.Add(name="add")([masked, masked])))
    raises("layer 'add' inputs: expected no masks on the tensors of a layer with several inputs|got a masked input",
           refgru.export_onnx, refgru.from_keras(merged), None)
    stateful = lib.Sequential([lib.Input(batch_shape=(2, 5, 3)), L.GRU(2, stateful=True)])
    raises("stateful: expected False: an ONNX model keeps no state between runs|got True",
           refgru.export_onnx, refgru.from_keras(stateful), None)
    gelu = lib.Sequential([lib.Input((5, 3)), L.GRU(2), L.Dense(2, activation="gelu", name="dense")])
    raises("layer 'dense' activation: expected an activation with an ONNX equivalent|got 'gelu'",
           refgru.export_onnx, refgru.from_keras(gelu), None)
    plain = refgru.from_keras(lib.Sequential([lib.Input((5, 3)), L.GRU(2), L.Flatten(name="flatten")]))
    raises("return_sequences: expected the default False when exporting a model|got True",
           refgru.export_onnx, plain, None, return_sequences=True)
    from refgru import onnx_model

    monkeypatch.delitem(onnx_model.EXPORTERS, "Flatten")
    raises("layer 'flatten': expected a layer class with an ONNX equivalent|got 'Flatten'", refgru.export_onnx, plain,
           None)
