"""Property tests: refgru.gru against keras.layers.GRU (Keras 3) and tf_keras.layers.GRU (Keras 2)."""

from __future__ import annotations

import numpy as np
import pytest
import tiny_files
from helpers import (
    ACTIVATION_NAMES,
    MASK_KINDS,
    TOLERANCE,
    assert_close,
    examples,
    make_mask,
    random_weights,
    relative_error,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import refgru

pytest.importorskip("keras_ref")  # every test in this module runs Keras: without it the module skips

#: Gate activations with values in [0, 1] and candidate activations with values in [-1, 1]: with both, each
#: step is a convex mix of bounded values, so float32 rounding cannot grow and Keras's float32 is the oracle.
BOUNDED_GATES = {"sigmoid", "hard_sigmoid", "sparse_sigmoid", "softmax"}
BOUNDED_CANDIDATES = BOUNDED_GATES | {"tanh", "softsign", "hard_tanh", "tanh_shrink"}


def expansive(config) -> bool:
    """Whether the recurrence can grow step by step (unbounded gates or candidate), amplifying float32 rounding."""
    return config["recurrent_activation"] not in BOUNDED_GATES or config["activation"] not in BOUNDED_CANDIDATES


@st.composite
def gru_cases(draw, version: int, activations: bool = False):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, steps = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    input_dim, units = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    reset_after, use_bias = draw(st.booleans()), draw(st.booleans())
    dtype = draw(st.sampled_from(["float32", "float64"]))
    names = ACTIVATION_NAMES[version]
    config = {
        "reset_after": reset_after,
        "activation": draw(st.sampled_from(names)) if activations else "tanh",
        "recurrent_activation": draw(st.sampled_from(names if activations else ["sigmoid", "hard_sigmoid"])),
        "return_sequences": draw(st.booleans()),
        "return_state": draw(st.booleans()),
        "go_backwards": draw(st.booleans()),
        "zero_output_for_mask": draw(st.booleans()),
    }
    # Smaller weights keep an expansive recurrence (e.g. exponential gates) from overflowing float32 in 5 steps.
    scale = 0.3 if expansive(config) else 0.6
    weights = random_weights(rng, input_dim, units, reset_after=reset_after, use_bias=use_bias, dtype=dtype,
                             scale=scale)
    x = rng.normal(size=(batch, steps, input_dim)).astype(dtype)
    initial_state = rng.normal(size=(batch, units)).astype(dtype) if draw(st.booleans()) else None
    mask = make_mask(draw(st.sampled_from(MASK_KINDS)), rng, batch, steps)
    return weights, x, mask, initial_state, dtype, config


def check_against_keras(keras_ref, version, case):
    """refgru equals Keras to the dtype's tolerance.

    One exception, for float32 only: when the recurrence is expansive (``expansive(config)``, e.g.
    ``exponential`` gates, where z > 1), float32 rounding grows step by step and two correct float32
    implementations drift apart. Then refgru's float32 error must be of the same order as Keras's own
    float32 error (at most 4x, or 1e-5), both measured against Keras run in float64 on the same numbers,
    which is the exact answer up to 1e-10. Keras's float64 output and Keras's float32 error must be
    finite: a bound derived from an overflowing Keras would accept anything, so that case fails.
    """
    weights, x, mask, initial_state, dtype, config = case
    expected = keras_ref.keras_gru(version, weights, x, mask=mask, initial_state=initial_state, dtype=dtype, **config)
    actual = refgru.gru(x, weights, mask=mask, initial_state=initial_state, keras_version=version, **config)
    name = f"Keras {version} GRU output {config}"
    if dtype == "float32" and expansive(config) and not all_close(actual, expected):
        as64 = [w.astype("float64") for w in weights]
        h0 = None if initial_state is None else initial_state.astype("float64")
        exact = keras_ref.keras_gru(version, as64, x.astype("float64"), mask=mask, initial_state=h0, dtype="float64",
                                    **config)
        for ours, theirs, truth in zip(listify(actual), listify(expected), listify(exact), strict=True):
            assert np.isfinite(truth).all(), f"{name}: Keras float64 is not finite; no exact answer to compare with"
            keras_error, _ = relative_error(theirs, truth)
            assert np.isfinite(keras_error), f"{name}: Keras float32 differs from float64 in its non-finite pattern"
            our_error, where = relative_error(ours, truth)
            assert our_error <= max(4 * keras_error, TOLERANCE[np.dtype("float32")]), (
                f"{name}: refgru float32 is {our_error:.3g} from exact at {where}, Keras float32 {keras_error:.3g}")
        return
    assert_close(name, actual, expected)


def listify(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


def all_close(actual, expected) -> bool:
    pairs = zip(listify(actual), listify(expected), strict=True)
    return all(relative_error(a, e)[0] <= TOLERANCE[np.dtype(e.dtype)] for a, e in pairs)


@settings(max_examples=examples(120))
@given(gru_cases(3))
def test_options_match_keras3(keras_ref, case):
    """Shapes from 1, both variants, no bias, every flag, initial states and every kind of mask."""
    check_against_keras(keras_ref, 3, case)


@settings(max_examples=examples(120))
@given(gru_cases(2))
def test_options_match_tf_keras(keras_ref, case):
    check_against_keras(keras_ref, 2, case)


@settings(max_examples=examples(120))
@given(gru_cases(3, activations=True))
def test_activations_match_keras3(keras_ref, case):
    """Every activation and recurrent activation Keras 3 resolves, in both positions."""
    check_against_keras(keras_ref, 3, case)


@settings(max_examples=examples(120))
@given(gru_cases(2, activations=True))
def test_activations_match_tf_keras(keras_ref, case):
    check_against_keras(keras_ref, 2, case)


def test_tiny_files_expected_is_what_keras_predicts(keras_ref, tmp_path):
    """tiny_files.expected(), the oracle of the robustness and fuzz tests, is Keras's prediction (two batches)."""
    for x in (tiny_files.X, np.random.default_rng(8).normal(size=(3, 4, 3)).astype("float32")):
        for name, prediction in tiny_files.keras_predictions(tmp_path, x).items():
            assert_close(f"tiny model, {name}", tiny_files.expected(x), prediction)



#: (batch, input_dim, units) that send the tanh/sigmoid fast loop down each of its layouts (refgru.core.fused,
#: refgru.core.columns): the fused rows (B = 1), the columns with x_t in the step matmul (4 * input_dim <= units),
#: and the columns with the inputs projected per chunk.
LAYOUT_SIZES = {"rows": (1, 3, 8), "columns, inputs in the step": (4, 2, 8), "columns, inputs per chunk": (4, 5, 8)}


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("layout", list(LAYOUT_SIZES))
def test_every_fast_loop_layout_matches_keras(keras_ref, layout, reset_after, dtype, version):
    """Each layout of the fast loop, with non-zero random biases, a mask with gaps and an initial state,
    against Keras; the sizes are checked to pick the layout the test names."""
    from refgru.core.columns import inputs_in_step
    from refgru.core.fused import FUSE_INPUTS_MAX_MACS

    batch, input_dim, units = LAYOUT_SIZES[layout]
    rows = batch == 1 and units * (input_dim + units) <= FUSE_INPUTS_MAX_MACS
    assert layout == ("rows" if rows else "columns, inputs in the step" if inputs_in_step(input_dim, units)
                      else "columns, inputs per chunk")
    rng = np.random.default_rng(11)
    weights = random_weights(rng, input_dim, units, reset_after=reset_after, dtype=dtype)
    x = rng.normal(size=(batch, 9, input_dim)).astype(dtype)
    h0 = rng.normal(size=(batch, units)).astype(dtype)
    for mask in (None, make_mask("gaps", rng, batch, 9)):
        config = {"reset_after": reset_after, "return_sequences": True}
        expected = keras_ref.keras_gru(version, weights, x, mask=mask, initial_state=h0, dtype=dtype, **config)
        actual = refgru.gru(x, weights, mask=mask, initial_state=h0, keras_version=version, **config)
        assert_close(f"Keras {version} {layout} {config} mask={mask is not None}", actual, expected)
