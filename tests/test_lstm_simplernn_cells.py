"""LSTM and SimpleRNN cells and weights (issue 15).

(a) NumPy only: Keras and torch layouts, bit-identical round trips, one-line errors for bad input.
(b) Steps against real Keras 3 and tf-keras: one step as a length-1 sequence with ``initial_state``,
    and steps composed over a short sequence against ``return_sequences``.
(c) Against torch ``nn.LSTM`` / ``nn.RNN`` (tanh and relu) with converted weights, both directions.

Run with ``-s`` to print the largest relative difference seen per comparison.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TOLERANCE, assert_close, raises, relative_error
from hypothesis import given, settings
from hypothesis import strategies as st

from refgru import get_activation
from refgru.core import lstm as lstm_cells
from refgru.core import simple_rnn as simple_rnn_cells
from refgru.core.lstm import LSTMWeights, lstm_step
from refgru.core.simple_rnn import SimpleRNNWeights, simple_rnn_step

#: kind -> (weights class, blocks per array, step function, number of states)
KINDS = {"LSTM": (LSTMWeights, 4, lstm_step, 2), "SimpleRNN": (SimpleRNNWeights, 1, simple_rnn_step, 1)}
#: Activations both Keras versions know ("hard_sigmoid" differs between them; refgru follows each).
ACTIVATIONS = ["tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "softsign", "elu", "selu", "softplus",
               "swish", "gelu", "exponential", "relu6", "mish", "leaky_relu"]
MODULES = {"LSTM": lstm_cells, "SimpleRNN": simple_rnn_cells}
WORST: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _print_worst():
    yield
    print("\n" + "\n".join(f"max relative difference {value:9.3g}  {name}" for name, value in sorted(WORST.items())))


def check(name: str, actual, expected, dtype) -> None:
    """assert_close, and remember the largest difference per ``name``."""
    assert_close(name, actual, expected)
    key = f"{name} {np.dtype(dtype)}"
    WORST[key] = max(WORST.get(key, 0.0), relative_error(actual, expected)[0])


def random_arrays(rng, kind: str, input_dim: int, units: int, use_bias: bool = True, dtype="float32"):
    """``[kernel, recurrent_kernel(, bias)]`` in Keras's shapes, every entry random and non-zero."""
    g = KINDS[kind][1]
    shapes = [(input_dim, g * units), (units, g * units)] + ([(g * units,)] if use_bias else [])
    return [(rng.uniform(0.05, 0.8, s) * rng.choice([-1, 1], s)).astype(dtype) for s in shapes]


def run_steps(kind: str, weights, x, states, version: int = 3, **activations):
    """The two halves as the sequence driver uses them: ``project_inputs`` over the whole ``(B, T, F)``
    chunk, then ``cell`` per step (no masks). Returns ``(outputs (B, T, u), final states)``.

    The halves take any values, so an exploding activation (``exponential``) can run to inf and NaN as in
    Keras, where the public step functions refuse non-finite states.
    """
    module = MODULES[kind]
    w = KINDS[kind][0].from_keras(weights)
    acts = [get_activation(activations.get(name, "tanh" if name == "activation" else "sigmoid"), version)
            for name in ("activation", "recurrent_activation")[: 2 if kind == "LSTM" else 1]]
    x_proj = module.project_inputs(x.astype(np.result_type(x, w.dtype)), w)
    assert x_proj.shape == x.shape[:2] + (KINDS[kind][1] * w.units,)
    outputs = []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(x.shape[1]):
            h, states = module.cell(x_proj[:, t], states, w, *acts)
            outputs.append(h)
    return np.stack(outputs, axis=1), states


# ------------------------------------------------------------------------------------ (a) NumPy only

#: Which Keras slice each torch row block holds, written out per kind (torch's g is Keras's c).
TORCH_ROWS = {"LSTM": [("W_i", "U_i", "b_i"), ("W_f", "U_f", "b_f"), ("W_c", "U_c", "b_c"), ("W_o", "U_o", "b_o")],
              "SimpleRNN": [("W", "U", "b")]}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_layouts_and_round_trips_are_exact(kind, dtype, use_bias):
    cls, g = KINDS[kind][:2]
    arrays = random_arrays(np.random.default_rng(3), kind, 3, 2, use_bias, dtype)
    if use_bias:
        arrays[2][0] = -0.0  # a signed zero survives Keras -> torch -> Keras
    w = cls.from_keras(arrays)
    for a, e in zip(w.to_keras(), arrays, strict=True):
        assert a.dtype == e.dtype and a.tobytes() == e.tobytes()
    params = w.to_torch(layer=1, direction="reverse")
    assert sorted(params) == sorted(f"{p}_l1_reverse" for p in ["weight_ih", "weight_hh"]
                                    + (["bias_ih", "bias_hh"] if use_bias else []))
    u = w.units
    for k, (W, U, b) in enumerate(TORCH_ROWS[kind]):
        rows = slice(k * u, (k + 1) * u)
        assert np.array_equal(params["weight_ih_l1_reverse"][rows], getattr(w, W).T)
        assert np.array_equal(params["weight_hh_l1_reverse"][rows], getattr(w, U).T)
        if use_bias:
            assert np.array_equal(params["bias_ih_l1_reverse"][rows], getattr(w, b))
    if use_bias:
        assert not params["bias_hh_l1_reverse"].any()
    back = cls.from_torch(params, layer=1, direction="reverse")
    assert type(back) is cls
    for a, e in zip(back.to_keras(), arrays, strict=True):
        assert a.dtype == e.dtype and a.shape == e.shape and a.tobytes() == e.tobytes()
    if use_bias:  # torch's two biases are added into Keras's one
        params["bias_hh_l1_reverse"] = np.arange(g * u, dtype=dtype)
        summed = cls.from_torch(params, layer=1, direction="reverse").bias
        assert np.array_equal(summed, arrays[2] + np.arange(g * u, dtype=dtype))


def test_named_slices():
    w = LSTMWeights(*random_arrays(np.random.default_rng(1), "LSTM", 3, 2))
    assert list(w.slices()) == [f"{p}_{g}" for p in "WUb" for g in "ifco"]
    assert np.array_equal(np.concatenate([w.W_i, w.W_f, w.W_c, w.W_o], axis=1), w.kernel)
    assert np.array_equal(np.concatenate([w.U_i, w.U_f, w.U_c, w.U_o], axis=1), w.recurrent_kernel)
    assert np.array_equal(np.concatenate([w.b_i, w.b_f, w.b_c, w.b_o]), w.bias)
    s = SimpleRNNWeights(*random_arrays(np.random.default_rng(1), "SimpleRNN", 3, 2, use_bias=False))
    assert s.W.shape == (3, 2) and s.U.shape == (2, 2) and s.b is None
    with pytest.raises(AttributeError):
        w.kernel = None


def test_bad_input_gives_one_line_errors():
    rng = np.random.default_rng(0)
    k, r, b = random_arrays(rng, "LSTM", 3, 2)
    w = LSTMWeights(k, r, b)
    x, h = np.zeros((5, 3), "float32"), np.zeros((5, 2), "float32")
    rnn = SimpleRNNWeights(k[:, :2], r[:, :2])
    cases = [
        ("kernel: expected shape (input_dim, 4 * units)", lambda: LSTMWeights(k[:, :7], r)),
        ("recurrent_kernel: expected shape (2, 8)", lambda: LSTMWeights(k, r[:, :4])),
        ("bias: expected shape (8,)", lambda: LSTMWeights(k, r, b[:4])),
        ("bias: expected dtype float32", lambda: LSTMWeights(k, r, b.astype("float64"))),
        ("kernel: expected finite values", lambda: LSTMWeights(np.full_like(k, np.nan), r)),
        ("weights: expected 2 arrays|got 1 arrays", lambda: LSTMWeights.from_keras([k])),
        ("weights: expected the list LSTM.get_weights()", lambda: LSTMWeights.from_keras(rnn)),
        ("recurrent_kernel: expected shape (2, 2)", lambda: SimpleRNNWeights(k[:, :2], r)),
        ("x_t: expected shape (B, 3)", lambda: lstm_step(x[:, :2], (h, h), w)),
        ("states: expected a tuple (h_tm1, c_tm1)", lambda: lstm_step(x, (h,), w)),
        ("c_tm1: expected shape (5, 2)", lambda: lstm_step(x, (h, h[:4]), w)),
        ("states: expected a tuple (h_tm1,)", lambda: simple_rnn_step(x, h, rnn)),
        ("activation: expected one of ['tanh']", lambda: w.to_torch(activation="relu")),
        ("activation: expected one of ['tanh', 'relu']", lambda: rnn.to_torch(activation="sigmoid")),
        ("weight_hh_l0: expected shape (4u, u) of a torch.nn.LSTM", lambda: LSTMWeights.from_torch(rnn.to_torch())),
        ("module_or_state_dict: expected both",
         lambda: LSTMWeights.from_torch({key: v for key, v in w.to_torch().items() if key != "bias_hh_l0"})),
        ("module_or_state_dict: expected the parameters of one module (weight_ih_l1, ...)",
         lambda: LSTMWeights.from_torch(w.to_torch(), 1)),
        ("expected a parameter 'weight_ih_l1'", lambda: LSTMWeights.from_torch(w.to_torch(), 1, prefix="")),
        ("without projection", lambda: LSTMWeights.from_torch({**w.to_torch(), "weight_hr_l0": np.zeros((1, 2))})),
    ]
    for fragments, call in cases:
        assert "\n" not in raises(fragments, call)


# -------------------------------------------------------------------------- (b) against real Keras


@st.composite
def keras_cases(draw, kind: str):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, steps, input_dim, units = (draw(st.integers(1, n)) for n in (3, 4, 4, 4))
    dtype, use_bias = draw(st.sampled_from(["float32", "float64"])), draw(st.booleans())
    activations = {"activation": draw(st.sampled_from(ACTIVATIONS))}
    if kind == "LSTM":
        activations["recurrent_activation"] = draw(st.sampled_from(ACTIVATIONS))
    weights = random_arrays(rng, kind, input_dim, units, use_bias, dtype)
    x = rng.normal(size=(batch, steps, input_dim)).astype(dtype)
    states = tuple(rng.normal(scale=0.7, size=(batch, units)).astype(dtype) for _ in range(KINDS[kind][3]))
    return weights, x, states, dtype, activations


def keras_run(version, kind, weights, x, states, dtype, activations):
    """One Keras ``kind`` layer with ``weights``, called on ``x[:, :1]`` and on ``x``, both from ``states``.

    Returns ``[(sequence (B, T', u), [final states]) for x[:, :1] and x]`` as NumPy arrays.
    """
    from keras_ref import LIBS, tf

    layer = getattr(LIBS[version].layers, kind)(weights[1].shape[0], use_bias=len(weights) == 3, dtype=dtype,
                                               return_sequences=True, return_state=True, **activations)
    layer.build((None, None, x.shape[2]))
    layer.set_weights(weights)
    results = []
    for inputs in (x[:, :1], x):
        seq, *final = layer(tf.convert_to_tensor(inputs), initial_state=[tf.convert_to_tensor(s) for s in states])
        results.append((np.asarray(seq), [np.asarray(s) for s in final]))
    return results


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_steps_equal_keras(kind, version, data):
    """One step, and steps composed over T <= 4, equal Keras's LSTM / SimpleRNN (Keras 3 and tf-keras).

    The GRU agreement tests' one exception holds here too, for float32 only: when the recurrence is
    expansive (``exponential`` activations), float32 rounding grows step by step and two correct float32
    implementations drift apart. Then refgru's error must be at most 4x Keras's own float32 error, both
    measured against Keras run in float64 on the same numbers.
    """
    weights, x, states, dtype, activations = data.draw(keras_cases(kind))
    (one_seq, one_states), (seq, final) = keras_run(version, kind, weights, x, states, dtype, activations)
    h, new_states = KINDS[kind][2](x[:, 0], states, weights, keras_version=version, **activations)
    outputs, last = run_steps(kind, weights, x, states, version, **activations)
    pairs = {"one step h": (h, one_seq[:, 0]), "one step states": (list(new_states), one_states),
             "composed steps sequence": (outputs, seq), "composed steps final states": (list(last), final)}
    tol = TOLERANCE[np.dtype(dtype)]
    if dtype == "float32" and any(relative_error(a, e)[0] > tol for a, e in pairs.values()):
        as64 = [w.astype("float64") for w in weights]
        exact = keras_run(version, kind, as64, x.astype("float64"), [s.astype("float64") for s in states],
                          "float64", activations)
        truths = [exact[0][0][:, 0], exact[0][1], exact[1][0], exact[1][1]]
        for (name, (ours, theirs)), truth in zip(pairs.items(), truths, strict=True):
            keras_error, our_error = relative_error(theirs, truth)[0], relative_error(ours, truth)[0]
            assert our_error <= max(4 * keras_error, tol), (
                f"{kind} {name}: refgru float32 is {our_error:.3g} from exact, Keras float32 only {keras_error:.3g}")
            key = f"{kind} {name}, expansive float32: refgru error / Keras error vs Keras float64"
            WORST[key] = max(WORST.get(key, 0.0), our_error / max(keras_error, 1e-30))
        return
    for name, (ours, theirs) in pairs.items():
        check(f"{kind} {name} vs Keras {version}", ours, theirs, dtype)


# ----------------------------------------------------------------------------------- (c) against torch

TORCH_KINDS = [("LSTM", "tanh"), ("SimpleRNN", "tanh"), ("SimpleRNN", "relu")]


def torch_module(kind: str, activation: str, input_dim: int, units: int, dtype: str, use_bias: bool = True):
    torch = pytest.importorskip("torch")
    if kind == "LSTM":
        module = torch.nn.LSTM(input_dim, units, batch_first=True, bias=use_bias, bidirectional=True)
    else:
        module = torch.nn.RNN(input_dim, units, batch_first=True, bias=use_bias, nonlinearity=activation,
                              bidirectional=True)
    return module.to(getattr(torch, dtype))


def torch_run(module, x, states):
    """``(y (B, T, 2u), final states)`` of a bidirectional batch_first module from per-direction ``states``."""
    import torch

    hx = tuple(torch.from_numpy(np.stack([s, s])) for s in states)
    with torch.no_grad():
        y, final = module(torch.from_numpy(x), hx if len(hx) == 2 else hx[0])
    return y.numpy(), [f.numpy() for f in (final if isinstance(final, tuple) else (final,))]


@settings(max_examples=int(min(settings().max_examples, 20)))
@given(st.sampled_from(TORCH_KINDS), st.sampled_from(["float32", "float64"]), st.booleans(),
       st.integers(0, 2**32 - 1), st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)))
def test_torch_equals_steps(kind_act, dtype, use_bias, seed, shape):
    """to_torch -> nn.LSTM / nn.RNN computes our steps (forward and reverse); from_torch of torch's own
    weights (two non-zero biases) gives weights whose steps compute what torch computes."""
    torch = pytest.importorskip("torch")

    kind, activation = kind_act
    cls, n_states = KINDS[kind][0], KINDS[kind][3]
    rng = np.random.default_rng(seed)
    batch, steps, input_dim, units = shape
    forward, backward = (cls.from_keras(random_arrays(rng, kind, input_dim, units, use_bias, dtype)) for _ in "fb")
    x = rng.normal(size=(batch, steps, input_dim)).astype(dtype)
    states = tuple(rng.normal(scale=0.7, size=(batch, units)).astype(dtype) for _ in range(n_states))
    module = torch_module(kind, activation, input_dim, units, dtype, use_bias)
    state = {**forward.to_torch(activation=activation), **backward.to_torch(activation=activation, direction="reverse")}
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    acts = {"activation": activation}
    for source in ("to_torch", "from_torch"):
        if source == "from_torch":  # torch's own initialisation, with non-zero bias_hh
            module = torch_module(kind, activation, input_dim, units, dtype, use_bias)
            forward, backward = cls.from_torch(module), cls.from_torch(module, direction="reverse")
        y, final = torch_run(module, x, states)
        fwd, fwd_last = run_steps(kind, forward, x, states, **acts)
        bwd, bwd_last = run_steps(kind, backward, x[:, ::-1], states, **acts)
        check(f"{kind}({activation}) torch forward vs steps, {source}", y[:, :, :units], fwd, dtype)
        check(f"{kind}({activation}) torch reverse vs steps, {source}", y[:, ::-1, units:], bwd, dtype)
        for i in range(n_states):
            check(f"{kind}({activation}) torch final states vs steps, {source}", final[i], np.stack(
                [fwd_last[i], bwd_last[i]]), dtype)


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("kind_act", TORCH_KINDS)
def test_torch_equals_keras(version, kind_act):
    """The ground-truth link: nn.LSTM / nn.RNN with to_torch() weights computes what Keras computes."""
    import_torch = pytest.importorskip("torch")
    kind, activation = kind_act
    rng = np.random.default_rng(11)
    weights, dtype = random_arrays(rng, kind, 3, 4, dtype="float64"), "float64"
    x = rng.normal(size=(2, 5, 3))
    states = tuple(rng.normal(scale=0.7, size=(2, 4)) for _ in range(KINDS[kind][3]))
    acts = {"activation": activation} if kind == "SimpleRNN" else {}
    (_, _), (seq, final) = keras_run(version, kind, weights, x, states, dtype, acts)
    module = torch_module(kind, activation, 3, 4, dtype)
    w = KINDS[kind][0].from_keras(weights)
    state = {**w.to_torch(activation=activation), **w.to_torch(activation=activation, direction="reverse")}
    module.load_state_dict({k: import_torch.from_numpy(v) for k, v in state.items()}, strict=True)
    y, torch_final = torch_run(module, x, states)
    check(f"{kind}({activation}) torch vs Keras {version} sequence", y[:, :, :4], seq, dtype)
    check(f"{kind}({activation}) torch vs Keras {version} states", [f[0] for f in torch_final], final, dtype)
