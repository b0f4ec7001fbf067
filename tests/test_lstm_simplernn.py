"""Property tests: refgru.lstm / refgru.simple_rnn against keras.layers.LSTM/SimpleRNN (Keras 3) and tf_keras.

Shapes from 1, every flag, initial states, every kind of mask (gaps, leading, trailing, fully masked
rows), activations, float32 and float64. Run with ``-s`` to print the largest difference per case kind.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import MASK_KINDS, TOLERANCE, assert_close, keras_layer, make_mask, raises, relative_error
from hypothesis import given
from hypothesis import strategies as st

import refgru

FUNCTIONS = {"LSTM": refgru.lstm, "SimpleRNN": refgru.simple_rnn}
GATES = {"LSTM": 4, "SimpleRNN": 1}
#: Activations both Keras versions know, in either position ("exponential" is left to the GRU tests: an
#: LSTM's c grows without bound under it, and float32 rounding then dominates any comparison).
ACTIVATIONS = ["tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "softsign", "elu", "selu", "softplus",
               "swish", "gelu", "relu6", "mish"]
WORST: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _print_worst():
    yield
    print("\n" + "\n".join(f"max relative difference {v:9.3g}  {k}" for k, v in sorted(WORST.items())))


@st.composite
def cases(draw, kind: str, activations: bool = False):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, steps = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    input_dim, units = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    config = {name: draw(st.booleans()) for name in ("return_sequences", "return_state", "go_backwards",
                                                      "zero_output_for_mask")}
    config["activation"] = draw(st.sampled_from(ACTIVATIONS)) if activations else "tanh"
    if kind == "LSTM":
        config["recurrent_activation"] = draw(st.sampled_from(ACTIVATIONS if activations else ["sigmoid",
                                                                                              "hard_sigmoid"]))
        config["unit_forget_bias"] = draw(st.booleans())
    g, use_bias = GATES[kind], draw(st.booleans())
    shapes = [(input_dim, g * units), (units, g * units)] + ([(g * units,)] if use_bias else [])
    weights = [(rng.uniform(0.05, 0.8, s) * rng.choice([-1, 1], s)).astype(dtype) for s in shapes]
    x = rng.normal(size=(batch, steps, input_dim)).astype(dtype)
    n_states = 2 if kind == "LSTM" else 1
    initial_state = [rng.normal(size=(batch, units)).astype(dtype) for _ in range(n_states)] \
        if draw(st.booleans()) else None
    mask = make_mask(draw(st.sampled_from(MASK_KINDS)), rng, batch, steps)
    return weights, x, mask, initial_state, dtype, config


def check(version: int, kind: str, case, label: str) -> None:
    weights, x, mask, initial_state, dtype, config = case
    expected = keras_layer(version, kind, weights, x, mask=mask, initial_state=initial_state, dtype=dtype, **config)
    actual = FUNCTIONS[kind](x, weights, mask=mask, initial_state=initial_state, keras_version=version, **config)
    assert_close(f"Keras {version} {kind} {config}", actual, expected)
    key = f"{label} Keras {version} {kind} {dtype}"
    for a, e in zip(*(r if isinstance(r, (list, tuple)) else [r] for r in (actual, expected)), strict=True):
        WORST[key] = max(WORST.get(key, 0.0), relative_error(a, e)[0])


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("kind", ["LSTM", "SimpleRNN"])
def test_options_match_keras(kind, version):
    """Shapes from 1, no bias, every flag, initial states and every kind of mask."""
    given(cases(kind))(lambda case: check(version, kind, case, "options"))()


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("kind", ["LSTM", "SimpleRNN"])
def test_activations_match_keras(kind, version):
    """Every activation in both positions (``hard_sigmoid`` as each Keras version defines it)."""
    given(cases(kind, activations=True))(lambda case: check(version, kind, case, "activations"))()


def test_return_containers_and_state_carry_are_keras_shaped():
    """Keras 3 returns a tuple ``(output, h, c)``, tf-keras a list; a fully masked row keeps its initial state."""
    rng = np.random.default_rng(1)
    w = [rng.normal(size=s).astype("float32") for s in [(2, 8), (2, 8), (8,)]]
    x = rng.normal(size=(2, 3, 2)).astype("float32")
    h0, c0 = rng.normal(size=(2, 2)).astype("float32"), rng.normal(size=(2, 2)).astype("float32")
    mask = np.array([[True, False, True], [False, False, False]])
    out3 = refgru.lstm(x, w, mask=mask, initial_state=[h0, c0], return_state=True)
    out2 = refgru.lstm(x, w, mask=mask, initial_state=[h0, c0], return_state=True, keras_version=2)
    assert isinstance(out3, tuple) and isinstance(out2, list) and len(out3) == len(out2) == 3
    np.testing.assert_array_equal(out3[2][1], c0[1])
    np.testing.assert_array_equal(out3[1][1], h0[1])
    np.testing.assert_array_equal(out3[0][1], 0)  # no unmasked step: the output is zeros, as in Keras
    for a, b in zip(out3, out2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_options_give_one_line_errors():
    rng = np.random.default_rng(2)
    w = [rng.normal(size=s).astype("float32") for s in [(2, 8), (2, 8), (8,)]]
    x = rng.normal(size=(1, 3, 2)).astype("float32")
    raises("initial_state|[h, c]", refgru.lstm, x, w, initial_state=np.zeros((1, 2), "float32"))
    raises("options|LSTM options", refgru.lstm, x, w, reset_after=True)
    raises("options|SimpleRNN options", refgru.simple_rnn, x, w[:1] + [w[1][:, :2]], unit_forget_bias=True)
    raises("units", refgru.lstm, x, w, units=3)
    raises("activation", refgru.simple_rnn, x, [w[0][:, :2], w[1][:, :2]], activation="nope")
    raises("mask", refgru.lstm, x, w, mask=np.ones((1, 2), bool))
    assert TOLERANCE[np.dtype("float32")] == 1e-5


def test_gru_cells_inside_rnn_are_listed_explained_and_traced():
    """Each GRUCell of an RNN is in gru_layers() (``<rnn>/cell``, ``<rnn>/cell_<k>``); tracing the single-cell
    RNN's GRU with its listed options gives Keras's output of that layer."""
    from keras_ref import keras

    L = keras.layers
    inp = keras.Input((4, 3))
    single = L.RNN(L.GRUCell(3), return_sequences=True, name="single")(inp)
    stacked = L.RNN([L.LSTMCell(2), L.GRUCell(2)], name="stacked")(single)
    model = keras.Model(inp, [single, stacked])
    rng = np.random.default_rng(3)
    model.set_weights([rng.uniform(-0.8, 0.8, w.shape).astype("float32") for w in model.get_weights()])
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    ours = refgru.from_keras(model)
    assert [label for label, _, _ in ours.gru_layers()] == ["single/cell", "stacked/cell_1"]
    assert_close("model", list(ours.predict(x)), [np.asarray(e) for e in expected])
    label, w, config = ours.gru_layers()[0]
    assert_close("trace of single/cell", refgru.trace(x, w, **config).h, np.asarray(expected[0]))
    assert "stacked/cell_1" in str(refgru.explain(ours))
