"""refgru.gru_backward against tf.GradientTape over real Keras GRU layers, and against finite differences.

The Keras tests build ``GRU(dtype="float64", return_state=True)``, set the weights, and take the
gradient of ``L = sum(output * d_output) + sum(state * d_state)`` with respect to ``kernel``,
``recurrent_kernel``, ``bias``, ``x`` and ``initial_state``. The finite-difference tests need NumPy only.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import MASK_KINDS, make_mask, random_weights
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import refgru
from refgru.backward import forward_with_cache
from refgru.backward_activations import DERIVATIVES, get_derivative
from refgru.core.masking import make_schedule
from refgru.weights import GRUWeights

TOL = 1e-9  # relative (to max(1, |expected|)), float64
GRAD_NAMES = ["d_kernel", "d_recurrent_kernel", "d_bias", "d_x", "d_initial_state"]


def assert_grad(name: str, actual, expected, tol: float = TOL) -> None:
    if expected is None:
        assert actual is None, f"{name}: expected None, got {type(actual).__name__}"
        return
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != {expected.dtype}"
    err = np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))
    worst = float(err.max()) if err.size else 0.0
    where = np.unravel_index(err.argmax(), err.shape)
    assert worst <= tol, f"{name}: differs by {worst:.3g} (tolerance {tol:g}) at {where}"


@pytest.fixture(scope="module")
def tf_libs():
    """``(tf, {3: keras, 2: tf_keras})``, or skip when TensorFlow is absent."""
    keras_ref = pytest.importorskip("keras_ref")
    return keras_ref.tf, keras_ref.LIBS


def tape_gradients(tf_libs, version, weights, x, d_output, d_state, *, initial_state, mask, **config):
    """The five gradients (Keras shapes, NumPy) of ``sum(out * d_output) + sum(state * d_state)``."""
    tf, libs = tf_libs
    units = weights[1].shape[0]
    layer = libs[version].layers.GRU(units, use_bias=len(weights) == 3, dtype="float64", return_state=True, **config)
    layer.build((None,) + x.shape[1:])
    layer.set_weights(weights)
    x_t = tf.constant(x)
    h0 = tf.constant(np.zeros((x.shape[0], units)) if initial_state is None else initial_state)
    kwargs = {} if mask is None else {"mask": tf.constant(mask)}
    with tf.GradientTape() as tape:
        tape.watch([x_t, h0])
        output, state = layer(x_t, initial_state=[h0], **kwargs)[:2]
        loss = tf.reduce_sum(output * d_output)
        if d_state is not None:
            loss += tf.reduce_sum(state * d_state)
    variables = [layer.cell.kernel, layer.cell.recurrent_kernel] + ([layer.cell.bias] if len(weights) == 3 else [])
    grads = [np.asarray(g) for g in tape.gradient(loss, variables + [x_t, h0],
                                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)]
    if len(weights) == 2:
        grads.insert(2, None)
    return grads


@st.composite
def backward_cases(draw, activations=("tanh",), recurrent_activations=("sigmoid", "hard_sigmoid"), x_scale=1.0):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, steps = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    input_dim, units = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    reset_after, use_bias = draw(st.booleans()), draw(st.booleans())
    config = {
        "reset_after": reset_after,
        "activation": draw(st.sampled_from(sorted(activations))),
        "recurrent_activation": draw(st.sampled_from(sorted(recurrent_activations))),
        "return_sequences": draw(st.booleans()),
        "go_backwards": draw(st.booleans()),
        "zero_output_for_mask": draw(st.booleans()),
    }
    weights = random_weights(rng, input_dim, units, reset_after=reset_after, use_bias=use_bias, dtype="float64")
    x = rng.normal(size=(batch, steps, input_dim)) * x_scale
    initial_state = rng.normal(size=(batch, units)) if draw(st.booleans()) else None
    mask = make_mask(draw(st.sampled_from(MASK_KINDS)), rng, batch, steps)
    d_output = rng.normal(size=(batch, steps, units) if config["return_sequences"] else (batch, units))
    d_state = rng.normal(size=(batch, units)) if draw(st.booleans()) else None
    return weights, x, d_output, d_state, initial_state, mask, config


def check_case(tf_libs, version, case, allow_overflow=False):
    weights, x, d_output, d_state, initial_state, mask, config = case
    expected = tape_gradients(tf_libs, version, weights, x, d_output, d_state,
                              initial_state=initial_state, mask=mask, **config)
    if allow_overflow:  # unbounded activations in both positions (exponential, ...) can overflow Keras itself
        assume(all(np.isfinite(e).all() for e in expected if e is not None))
    grads = refgru.gru_backward(x, weights, d_output, d_state, initial_state=initial_state, mask=mask,
                                keras_version=version, **config)
    label = f"Keras {version} {config} mask={mask is not None}"
    for name, exp in zip(GRAD_NAMES, expected, strict=False):
        assert_grad(f"{name} {label}", getattr(grads, name), exp)
    # The named slices are the same slices of TensorFlow's gradients, named by GRUWeights.
    named = GRUWeights(expected[0], expected[1], expected[2], config["reset_after"]).slices()
    for name, value in grads.slices().items():
        assert_grad(f"{name} {label}", value, named[name[1:]])


@given(backward_cases())
def test_options_match_keras3_tape(tf_libs, case):
    """Both variants, no bias, return_sequences, go_backwards, every kind of mask, initial states, d_state."""
    check_case(tf_libs, 3, case)


@given(backward_cases(activations=DERIVATIVES[3], recurrent_activations=DERIVATIVES[3]))
def test_activations_match_keras3_tape(tf_libs, case):
    """Every activation gru_backward supports, in both positions."""
    check_case(tf_libs, 3, case, allow_overflow=True)


@settings(max_examples=10)
@given(backward_cases(activations=["hard_sigmoid", "tanh", "relu6", "leaky_relu"],
                      recurrent_activations=["hard_sigmoid"], x_scale=2.5))
def test_hard_sigmoid_matches_tf_keras_tape(tf_libs, case):
    """tf-keras's hard_sigmoid clip(0.2 a + 0.5, 0, 1); inputs scaled so that gates saturate."""
    check_case(tf_libs, 2, case)


KINK_POINTS = np.array([-6, -3, -2.5, -1, -0.5, -1e-300, 0, 1e-300, 0.5, 1, 2.5, 3, 6], dtype=np.float64)


@pytest.mark.parametrize("version, name", [(v, n) for v in (3, 2) for n in sorted(DERIVATIVES[v])])
def test_activation_vjp_matches_tf(tf_libs, version, name):
    """Each derivative against TF's gradient of the Keras activation, at every kink and at random points."""
    tf, libs = tf_libs
    rng = np.random.default_rng(7)
    a = np.concatenate([KINK_POINTS, -KINK_POINTS, rng.normal(scale=3, size=13)]).reshape(3, 13)
    g = rng.normal(size=a.shape)
    a_t = tf.constant(a)
    with tf.GradientTape() as tape:
        tape.watch(a_t)
        loss = tf.reduce_sum(libs[version].activations.get(name)(a_t) * g)
    expected = np.asarray(tape.gradient(loss, a_t))
    y = refgru.get_activation(name, version)(a)
    assert_grad(f"Keras {version} {name}'", get_derivative(name, version, "activation")(a, y, g), expected, 1e-12)


# f'(a) at kinks, as TensorFlow 2.21 gives it (checked against the tape below).
KINKS = [
    (3, "relu", 0.0, 0.0), (3, "relu6", 0.0, 0.0), (3, "relu6", 6.0, 0.0),
    (3, "leaky_relu", 0.0, float(np.float32(0.2))),
    (3, "hard_sigmoid", -3.0, 0.0), (3, "hard_sigmoid", 3.0, 0.0), (3, "hard_sigmoid", 2.5, 1 / 6),
    (2, "hard_sigmoid", -2.5, 0.2), (2, "hard_sigmoid", 2.5, 0.2), (2, "hard_sigmoid", 3.0, 0.0),
    (2, "relu", 0.0, 0.0), (2, "relu6", 6.0, 0.0), (2, "leaky_relu", 0.0, float(np.float32(0.2))),
    (3, "hard_tanh", 1.0, 1.0), (3, "celu", 0.0, 2.0), (3, "elu", 0.0, 1.0), (3, "sparse_sigmoid", 1.0, 0.0),
    (3, "soft_shrink", 0.5, 0.0), (3, "hard_shrink", -0.5, 0.0),
]


@pytest.mark.parametrize("version, name, at, slope", KINKS)
def test_kink_values_pinned(tf_libs, version, name, at, slope):
    tf, libs = tf_libs
    a_t = tf.constant([[at]], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(a_t)
        y = libs[version].activations.get(name)(a_t)
    assert float(tape.gradient(y, a_t)[0, 0]) == pytest.approx(slope, rel=1e-15), "TensorFlow changed"
    a = np.array([[at]])
    ours = get_derivative(name, version, "activation")(a, refgru.get_activation(name, version)(a), np.ones_like(a))
    assert float(ours[0, 0]) == pytest.approx(slope, rel=1e-15)


KINK_GATES = {  # version -> (recurrent kinks for z and r, activation -> candidate kinks b_h)
    3: ([-3.0, 3.0, 0.5], [3.0, -3.0, 1.0],
        {"relu": [0.0, 0.0, 1.0], "relu6": [0.0, 6.0, 3.0], "leaky_relu": [0.0, 0.0, -1.0],
         "hard_sigmoid": [-3.0, 3.0, 0.0], "celu": [0.0, 0.0, -1.0], "hard_tanh": [-1.0, 1.0, 0.0]}),
    2: ([-2.5, 2.5, 0.5], [2.5, -2.5, 1.0],
        {"hard_sigmoid": [-2.5, 2.5, 0.0], "relu6": [0.0, 6.0, 3.0], "leaky_relu": [0.0, 0.0, -1.0]}),
}


@pytest.mark.parametrize("version, activation, reset_after",
                         [(v, a, ra) for v in KINK_GATES for a in KINK_GATES[v][2] for ra in (True, False)])
def test_gru_at_kinks_matches_tape(tf_libs, version, activation, reset_after):
    """Step 0 puts a_z, a_r, a_h exactly on kinks: x_0 = 0 and U = 0, so a = b (+ rb) exactly."""
    rng = np.random.default_rng(3)
    kz, kr, kh = KINK_GATES[version][0], KINK_GATES[version][1], KINK_GATES[version][2][activation]
    kernel = rng.normal(size=(2, 9))
    recurrent = np.zeros((3, 9))
    if reset_after:  # rb_z = rb_r = 0.5 and b_z = kink - 0.5; rb_h = 0 as r * rb_h would not be exact
        rb = np.array([0.5] * 6 + [0.0] * 3)
        bias = np.stack([np.concatenate([np.subtract(kz, 0.5), np.subtract(kr, 0.5), kh]), rb])
    else:
        bias = np.concatenate([kz, kr, kh])
    weights = [kernel, recurrent, bias]
    x = rng.normal(size=(2, 2, 2))
    x[:, 0] = 0.0
    h0 = rng.normal(size=(2, 3))
    config = dict(reset_after=reset_after, activation=activation, recurrent_activation="hard_sigmoid",
                  return_sequences=True)
    w = GRUWeights(*weights)
    act, ract = (refgru.get_activation(n, version) for n in (activation, "hard_sigmoid"))
    step0 = refgru.gru_step(x[:, 0], h0, w, return_gates=True, activation=activation,
                            recurrent_activation="hard_sigmoid", keras_version=version)
    for pre, kinks in [(step0.a_z, kz), (step0.a_r, kr), (step0.a_h, kh)]:
        assert np.array_equal(pre, np.broadcast_to(kinks, pre.shape)), "the case must hit the kinks exactly"
    d_output, d_state = rng.normal(size=(2, 2, 3)), rng.normal(size=(2, 3))
    case = (weights, x, d_output, d_state, h0, None, config)
    check_case(tf_libs, version, case)


# ---------------------------------------------------------------- NumPy only: finite differences


def finite_difference(loss, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``loss()`` with respect to each entry of ``array`` (changed in place)."""
    grad = np.zeros_like(array)
    for i in np.ndindex(array.shape):
        keep = array[i]
        array[i] = keep + eps
        up = loss()
        array[i] = keep - eps
        down = loss()
        array[i] = keep
        grad[i] = (up - down) / (2 * eps)
    return grad


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("mask_kind, go_backwards, return_sequences, zero_output_for_mask", [
    ("none", False, True, False), ("random", False, True, False), ("leading", True, False, False),
    ("gaps", False, False, True), ("full_row", True, True, False), ("trailing", False, False, False),
])
def test_finite_differences(reset_after, mask_kind, go_backwards, return_sequences, zero_output_for_mask):
    rng = np.random.default_rng(11)
    batch, steps, input_dim, units = 2, 4, 2, 2
    weights = random_weights(rng, input_dim, units, reset_after=reset_after, dtype="float64")
    x = rng.normal(size=(batch, steps, input_dim))
    h0 = rng.normal(size=(batch, units))
    mask = make_mask(mask_kind, rng, batch, steps)
    options = dict(go_backwards=go_backwards, return_sequences=return_sequences, mask=mask,
                   zero_output_for_mask=zero_output_for_mask, activation="softsign")
    output, _ = refgru.gru(x, weights, initial_state=h0, return_state=True, **options)
    d_output, d_state = rng.normal(size=output.shape), rng.normal(size=(batch, units))

    def loss() -> float:
        out, state = refgru.gru(x, weights, initial_state=h0, return_state=True, **options)
        return float((out * d_output).sum() + (state * d_state).sum())

    grads = refgru.gru_backward(x, weights, d_output, d_state, initial_state=h0, **options)
    for name, array in zip(GRAD_NAMES, [*weights, x, h0], strict=False):
        assert_grad(f"{name} vs finite differences", getattr(grads, name), finite_difference(loss, array), 1e-7)


def test_cache_forward_is_the_layer_forward():
    """The recorded forward (masks, zero_output_for_mask): the state step t starts from is the state
    refgru.gru reaches on the first t steps, and the recorded gates are the step math at that state."""
    rng = np.random.default_rng(5)
    weights = random_weights(rng, 3, 2, dtype="float64")
    w = GRUWeights(*weights)
    x, h0 = rng.normal(size=(3, 6, 3)), rng.normal(size=(3, 2))
    act, ract = refgru.get_activation("tanh"), refgru.get_activation("sigmoid")
    for kind in MASK_KINDS:
        for zero in (False, True):
            mask = make_mask(kind, rng, 3, 6)
            schedule = make_schedule(x, mask, go_backwards=False, return_sequences=True, zero_output_for_mask=zero)
            gates, h_tm1s = forward_with_cache(schedule, w, h0, act, ract)
            assert len(gates) == len(h_tm1s) == 6
            for t in range(1, 6):
                _, state = refgru.gru(x[:, :t], weights, initial_state=h0, mask=None if mask is None else mask[:, :t],
                                      zero_output_for_mask=zero, return_state=True)
                assert_grad(f"h_tm1 of step {t}, {kind} {zero}", h_tm1s[t], state, 1e-14)
                step = refgru.gru_step(x[:, t], h_tm1s[t], w, return_gates=True)
                assert_grad(f"hh of step {t}, {kind} {zero}", gates[t].hh, step.hh, 1e-14)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("kwargs, words", [
    (dict(activation=np.tanh), ["activation:", "tanh, ", "callable"]),
    (dict(recurrent_activation="sparsemax"), ["recurrent_activation:", "sigmoid", "'sparsemax'"]),
    (dict(activation="hard_silu", keras_version=2), ["activation:", "keras_version=3"]),
    (dict(activation="nope"), ["activation:", "Keras 3", "'nope'"]),
])
def test_unsupported_activation_is_refused(kwargs, words):
    weights = random_weights(np.random.default_rng(0), 2, 2, dtype="float64")
    with pytest.raises(refgru.RefgruError) as info:
        refgru.gru_backward(np.ones((1, 3, 2)), weights, np.ones((1, 2)), **kwargs)
    for word in words:
        assert word in str(info.value), str(info.value)


@pytest.mark.parametrize("d_output, d_state, return_sequences, words", [
    (np.ones((1, 3, 2)), None, False, ["d_output:", "(1, 2)", "(1, 3, 2)"]),
    (np.ones((1, 2)), None, True, ["d_output:", "(1, 3, 2)", "return_sequences=True"]),
    (np.ones((1, 2)), np.ones((2, 2)), False, ["d_state:", "(1, 2)", "(2, 2)"]),
    (np.array([["a", "b"]]), None, False, ["d_output:", "numeric"]),
])
def test_bad_upstream_gradients_are_refused(d_output, d_state, return_sequences, words):
    weights = random_weights(np.random.default_rng(0), 2, 2, dtype="float64")
    with pytest.raises(refgru.RefgruError) as info:
        refgru.gru_backward(np.ones((1, 3, 2)), weights, d_output, d_state, return_sequences=return_sequences)
    for word in words:
        assert word in str(info.value), str(info.value)
