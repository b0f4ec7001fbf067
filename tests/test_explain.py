"""``refgru.explain``: its content, its equations run against Keras, and the claims of docs/confusions.md."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from helpers import assert_close, random_weights

import refgru
from refgru.errors import RefgruError
from refgru.teach import seed_question as seed
from refgru.teach.explain import Explanation, ModelExplanation


@pytest.fixture(scope="module")
def kr():
    """``keras_ref`` (real Keras 3 and tf-keras); the test is skipped when they are not installed."""
    return pytest.importorskip("keras_ref")


VARIANTS = [(True, True), (False, True), (True, False), (False, False)]  # (reset_after, use_bias)


def _named(weights: list[np.ndarray]) -> dict[str, np.ndarray]:
    return dict(zip(["kernel", "recurrent_kernel", "bias"], weights, strict=False))


def run_equations(e: Explanation, x_t: np.ndarray, h_tm1: np.ndarray) -> np.ndarray:
    """Execute the printed equations of ``e`` literally, with NumPy, and return their ``h``."""
    namespace = {s.name: s.value for a in e.arrays for s in a.slices}
    for name in (e.activation, e.recurrent_activation):
        namespace[name] = refgru.get_activation(name, e.keras_version)
    namespace.update(x_t=x_t, h_tm1=h_tm1)
    for line in e.equations:
        exec(line.split("#")[0].strip(), namespace)
    return namespace["h"]


# ---------------------------------------------------------------- against Keras

@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("reset_after,use_bias", VARIANTS)
@pytest.mark.parametrize("act,ract", [("tanh", "sigmoid"), ("linear", "hard_sigmoid")])
def test_printed_equations_compute_what_keras_computes(kr, version, reset_after, use_bias, act, ract):
    """The equations ``explain`` prints, run as Python, give the output of one Keras GRU step."""
    rng = np.random.default_rng(7)
    weights = random_weights(rng, 3, 2, reset_after=reset_after, use_bias=use_bias, dtype="float64", scale=1.5)
    x_t, h_tm1 = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    e = refgru.explain(weights, reset_after=reset_after, activation=act, recurrent_activation=ract,
                       keras_version=version)
    expected = kr.keras_gru(version, weights, x_t[:, None], initial_state=h_tm1, dtype="float64",
                            reset_after=reset_after, activation=act, recurrent_activation=ract)
    assert_close(f"Keras {version} step from the printed equations", run_equations(e, x_t, h_tm1), expected)


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("reset_after,use_bias", VARIANTS)
def test_variant_and_shapes_of_real_keras_layers(kr, version, reset_after, use_bias):
    """explain() of a real layer's get_weights(): the shapes, and the variant whenever there is a bias."""
    layer = kr.LIBS[version].layers.GRU(3, reset_after=reset_after, use_bias=use_bias)
    layer.build((None, 5, 4))
    weights = layer.get_weights()
    e = refgru.explain(weights)
    assert [a.shape for a in e.arrays] == [w.shape for w in weights]
    assert [a.name for a in e.arrays] == ["kernel", "recurrent_kernel", "bias"][: len(weights)]
    if use_bias:
        assert e.reset_after is layer.reset_after and e.reset_after_source == "bias shape"
    else:
        assert e.reset_after is True and e.reset_after_source == "default"


def test_default_reset_after_per_keras_version(kr):
    """docs/confusions.md's table, for the versions installed here."""
    from tf_keras.api._v1.keras import layers as tf1_layers

    layers = {"keras 3": kr.keras.layers.GRU(2), "tf_keras": kr.tf_keras.layers.GRU(2),
              "tf.keras": kr.tf.keras.layers.GRU(2), "tf_keras v1 API": tf1_layers.GRU(2)}
    seen = {}
    for name, layer in layers.items():
        layer.build((None, 3, 1))
        seen[name] = (layer.reset_after, layer.recurrent_activation.__name__, layer.get_weights()[2].shape)
    assert seen == {"keras 3": (True, "sigmoid", (2, 6)), "tf_keras": (True, "sigmoid", (2, 6)),
                    "tf.keras": (True, "sigmoid", (2, 6)), "tf_keras v1 API": (False, "hard_sigmoid", (6,))}


def test_cudnn_needs_reset_after(kr):
    """Keras 3's and tf-keras's cuDNN eligibility rules reject reset_after=False and nothing else here."""
    from keras.src import activations
    from keras.src.backend.tensorflow.rnn import _do_gru_arguments_support_cudnn

    def rule(reset_after: bool) -> bool:
        return bool(_do_gru_arguments_support_cudnn(activations.tanh, activations.sigmoid, unroll=False,
                                                    use_bias=True, reset_after=reset_after))

    assert rule(True) and not rule(False)
    assert kr.tf_keras.layers.GRU(2, reset_after=True)._could_use_gpu_kernel
    assert not kr.tf_keras.layers.GRU(2, reset_after=False)._could_use_gpu_kernel


def test_cudnn_gru_bias_is_flat_and_the_source_comments(kr):
    """CuDNNGRU keeps input and recurrent biases in one (6u,) vector; the quoted source comments exist."""
    from keras.src.layers.rnn import gru as k3_gru
    from tf_keras.api._v1.keras import layers as tf1_layers
    from tf_keras.src.layers.rnn import gru as tfk_gru

    layer = tf1_layers.CuDNNGRU(2)
    layer.build((None, 3, 1))
    assert [w.shape for w in layer.get_weights()] == [(1, 6), (2, 6), (12,)]
    assert "intentionally different from CuDNNGRU" in inspect.getsource(k3_gru.GRUCell.build)
    assert "h is output gate weights" in inspect.getsource(tfk_gru.gpu_gru)


@pytest.mark.parametrize("version", [3, 2])
def test_second_bias_row_is_used_by_keras(kr, version):
    """In Keras, moving b_z <-> rb_z or b_r <-> rb_r changes nothing; moving b_h <-> rb_h does."""
    rng = np.random.default_rng(3)
    weights = random_weights(rng, 2, 3, dtype="float64")
    x = rng.normal(size=(2, 5, 2))
    base = kr.keras_gru(version, weights, x, dtype="float64")

    def moved(block):
        bias = weights[2].copy()
        bias[0, block] += 0.7
        bias[1, block] -= 0.7
        return [weights[0], weights[1], bias]

    assert_close("b_z + rb_z moved", kr.keras_gru(version, moved(slice(0, 3)), x, dtype="float64"), base)
    assert_close("b_r + rb_r moved", kr.keras_gru(version, moved(slice(3, 6)), x, dtype="float64"), base)
    rb_h_moved = kr.keras_gru(version, moved(slice(6, 9)), x, dtype="float64")
    assert np.abs(rb_h_moved - base).max() > 1e-3
    assert_close("refgru with b_h + rb_h moved", refgru.gru(x, moved(slice(6, 9)), keras_version=version), rb_h_moved)


def test_hard_sigmoid_values_in_confusions_page(kr):
    """The two rows that docs/confusions.md prints, as Keras 3 and tf-keras compute them."""
    xs = np.array([-3.0, -2.5, -2.0, -1.0, 0.0, 1.0, 2.0, 2.5, 3.0])
    keras3 = np.asarray(kr.keras.activations.hard_sigmoid(kr.tf.constant(xs)))
    keras2 = np.asarray(kr.tf_keras.activations.hard_sigmoid(kr.tf.constant(xs)))
    np.testing.assert_allclose(keras3, [0, 0.0833, 0.1667, 0.3333, 0.5, 0.6667, 0.8333, 0.9167, 1], atol=5e-5)
    np.testing.assert_allclose(keras2, [0, 0, 0.1, 0.3, 0.5, 0.7, 0.9, 1, 1], atol=1e-12)


# ---------------------------------------------------------------- content (NumPy only)

def test_two_row_bias_says_reset_after_and_both_rows():
    e = refgru.explain(seed.WEIGHTS, activation="linear")
    text = " ".join(str(e).split())  # wrapping aside
    assert e.reset_after is True and e.reset_after_source == "bias shape" and (e.units, e.input_dim) == (2, 1)
    assert "(2, 6) = (2, 3u)" in text and "a (2, 3u) bias means reset_after=True" in text
    assert "both rows are used at every step" in text and "Both rows are used." in text
    assert "Row 0, the input bias [b_z | b_r | b_h], is added to x_t @ W in all three pre-activations" in text
    assert "rb_h inside r * (h_tm1 @ U_h + rb_h)" in text
    assert "There is no output gate" in text and "update gate z" in text and "reset gate r" in text
    assert "hh = linear(x_t @ W_h + b_h + r * (h_tm1 @ U_h + rb_h))" in text
    assert "every bias entry is 0" in text


def test_slices_are_named_located_and_valued_correctly():
    rng = np.random.default_rng(0)
    for reset_after, use_bias in VARIANTS:
        weights = random_weights(rng, 3, 4, reset_after=reset_after, use_bias=use_bias)
        e = refgru.explain(weights, reset_after=reset_after)
        w = refgru.GRUWeights.from_keras(weights, reset_after)
        arrays = _named(weights)
        names = [s.name for a in e.arrays for s in a.slices]
        assert names == [n for n, v in w.slices().items() if v is not None]
        for a in e.arrays:
            assert a.shape == arrays[a.name].shape and a.index == list(arrays).index(a.name)
            for s in a.slices:
                located = eval(s.where, {}, arrays)  # e.g. "bias[1, 8:12]", evaluated on the real arrays
                np.testing.assert_array_equal(located, s.value, err_msg=s.where)
                np.testing.assert_array_equal(s.value, getattr(w, s.name), err_msg=s.name)
                assert located.shape == s.shape
            assert f"{a.name} {a.shape}" in str(e) and all(s.where in str(e) for s in a.slices)


def test_one_row_bias_means_reset_after_false():
    rng = np.random.default_rng(1)
    e = refgru.explain(random_weights(rng, 2, 3, reset_after=False))
    text = " ".join(str(e).split())
    assert e.reset_after is False and e.reset_after_source == "bias shape"
    assert "The bias has shape (9,) = (3u,)" in text and "There is no recurrent bias" in text
    assert "hh = tanh(x_t @ W_h + b_h + (r * h_tm1) @ U_h)" in text and "rb_" not in "".join(e.equations)
    assert [s.name for s in e.arrays[2].slices] == ["b_z", "b_r", "b_h"]


def test_no_bias_cannot_be_told_from_shapes():
    rng = np.random.default_rng(2)
    weights = random_weights(rng, 2, 3, use_bias=False)
    assumed, given = refgru.explain(weights), refgru.explain(weights, reset_after=False)
    assert (assumed.reset_after, assumed.reset_after_source) == (True, "default")
    assert (given.reset_after, given.reset_after_source) == (False, "given")
    for e in (assumed, given):
        assert "shapes cannot tell them apart" in " ".join(str(e).split()) and len(e.arrays) == 2
        assert not any(token in "".join(e.equations) for token in ("b_z", "rb_", "b_h"))
    assert "r * (h_tm1 @ U_h)" in assumed.equations[2] and "(r * h_tm1) @ U_h" in given.equations[2]


def test_markdown_form():
    md = refgru.explain(seed.WEIGHTS, activation="linear", label="gru").to_markdown()
    assert md.startswith("### GRU 'gru': units u = 2")
    assert "**Variant: `reset_after=True`.**" in md and "There is no output gate" in md
    assert md.count("| slice | where | shape | role | value |") == 3
    assert "| `rb_h` | `bias[1, 4:6]` | (2,) |" in md
    assert "```text\nz  = sigmoid(x_t @ W_z + b_z + h_tm1 @ U_z + rb_z)" in md
    assert "| value |" not in refgru.explain(seed.WEIGHTS).to_markdown(values=False)


def test_values_shown_for_small_layers_only():
    small, big = refgru.explain(seed.WEIGHTS), refgru.explain(random_weights(np.random.default_rng(0), 8, 16))
    assert "= [[-0.642662, -0.0870676]]" in str(small)
    assert "  = [" not in str(big) and "  = [" in big.to_text(values=True)
    assert "  = [" not in small.to_text(values=False)


def test_hard_sigmoid_note_follows_keras_version():
    three = str(refgru.explain(seed.WEIGHTS, recurrent_activation="hard_sigmoid"))
    two = str(refgru.explain(seed.WEIGHTS, recurrent_activation="hard_sigmoid", keras_version=2))
    assert "Keras 3's relu6(x + 3) / 6" in " ".join(three.split())
    assert "Keras 2's clip(0.2 * x + 0.5, 0, 1)" in " ".join(two.split())
    assert "hard_sigmoid depends" not in str(refgru.explain(seed.WEIGHTS))


def test_bad_input_is_a_refgru_error():
    with pytest.raises(RefgruError, match=r"^recurrent_kernel: expected shape \(2, 6\)"):
        refgru.explain([seed.KERNEL, np.zeros((3, 6), np.float32)])
    with pytest.raises(RefgruError, match=r"^bias: expected shape \(2, 6\) \(reset_after=True\) or \(6,\)"):
        refgru.explain([seed.KERNEL, seed.RECURRENT_KERNEL, np.zeros((3, 6), np.float32)])
    with pytest.raises(RefgruError, match=r"^reset_after: expected True for a bias of shape \(2, 6\)"):
        refgru.explain(seed.WEIGHTS, reset_after=False)
    with pytest.raises(RefgruError, match=r"^recurrent_activation: expected"):
        refgru.explain(seed.WEIGHTS, recurrent_activation="nope")
    with pytest.raises(RefgruError, match=r"^keras_version: expected 2 or 3"):
        refgru.explain(seed.WEIGHTS, keras_version=4)


def test_explain_is_a_function_and_its_module_is_teach_explain():
    import importlib

    import refgru.teach.explain as module

    assert refgru.explain is module.explain and isinstance(refgru.explain(seed.WEIGHTS), Explanation)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("refgru.explain")


def test_explain_accepts_gru_layers_options_and_a_model(tmp_path):
    """Model.gru_layers() options go in as **options (units included), so hard_sigmoid is explained as such;
    a loaded model is explained GRU by GRU, the Bidirectional halves labelled."""
    pytest.importorskip("h5py")
    import tiny_files

    path = tmp_path / "tiny.keras"
    path.write_bytes(tiny_files.keras_bytes())
    model = refgru.load_model(path)
    layers = model.gru_layers()
    assert layers
    for label, w, config in layers:
        assert "units" in config
        e = refgru.explain(w, label=label, **{**config, "recurrent_activation": "hard_sigmoid"})
        assert e.recurrent_activation == "hard_sigmoid" and "hard_sigmoid(" in "\n".join(e.equations)
    whole = refgru.explain(model)
    assert isinstance(whole, ModelExplanation) and len(whole.layers) == len(layers)
    text = str(whole)
    for label, _, config in layers:
        assert f"GRU {label!r}" in text and f"activation={config['activation']!r}" in text
    bi = refgru.GRUWeights.from_keras(random_weights(np.random.default_rng(0), 2, 3))

    class Bidirectional:  # what Model.gru_layers() returns for a Bidirectional: two labelled halves
        name = "m"

        def gru_layers(self):
            return [("bi/forward", bi, {"units": 3, "activation": "tanh"}),
                    ("bi/backward", bi, {"units": 3, "activation": "tanh", "go_backwards": True})]

    text = str(refgru.explain(Bidirectional()))
    assert "GRU 'bi/forward'" in text and "GRU 'bi/backward'" in text
    with pytest.raises(RefgruError, match=r"^units: expected 3"):
        refgru.explain(bi, units=4)
