"""Hostile and unusual arrays: NaN and inf, empty axes, memory layouts, byte orders, dtypes, nested lists.

Each case is pinned against what Keras 3 and tf-keras do where that is cheap to run; where refgru
deliberately differs (NaN and inf are refused, nested lists accepted) the test says so and
docs/security.md explains why.
"""

from __future__ import annotations

import numpy as np
import pytest
import reference_loop
from helpers import assert_close, raises, random_weights

import refgru

RNG = np.random.default_rng(11)
W = random_weights(RNG, 3, 2)  # GRU(2) on 3 features, non-zero biases
X = RNG.normal(size=(2, 4, 3)).astype("float32")
H0 = RNG.normal(size=(2, 2)).astype("float32")
#: refgru's result on plain arrays: the layout and byte-order cases must reproduce it bit for bit (an
#: invariant). It is itself pinned to the independent oracle by test_baseline_is_the_reference_loop.
EXPECTED = refgru.gru(X, W, return_sequences=True, initial_state=H0)


def test_baseline_is_the_reference_loop():
    """tests/reference_loop.py (imports nothing from refgru; pinned to Keras by the golden file) agrees."""
    assert_close("plain X", EXPECTED, reference_loop.gru(X, W, return_sequences=True, initial_state=H0))


def _with(index: int, value: float) -> list[np.ndarray]:
    arrays = [a.copy() for a in W]
    arrays[index].flat[1] = value
    return arrays


# --- NaN and inf ----------------------------------------------------------------------------------------

SPECIALS = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("special", SPECIALS)
@pytest.mark.parametrize("index, name", [(0, "kernel"), (1, "recurrent_kernel"), (2, "bias")])
def test_nonfinite_weights_refused(special, index, name):
    arrays = _with(index, special)
    for call in (
        lambda: refgru.gru(X, arrays),
        lambda: refgru.GRUWeights.from_keras(arrays),
        lambda: refgru.gru_step(X[:, 0], H0, arrays),
        lambda: refgru.explain(arrays),
        lambda: refgru.trace(X[0], arrays),
    ):
        raises(f"{name}: expected finite values|NaN and|inf values", call)


@pytest.mark.parametrize("special", SPECIALS)
def test_nonfinite_inputs_refused(special):
    x = X.copy()
    x[1, 2, 0] = special
    h0 = H0.copy()
    h0[0, 1] = special
    raises("x: expected finite values|got an array of shape (2, 4, 3)", refgru.gru, x, W)
    raises("x: expected finite values", refgru.trace, x[1], W)
    raises("x: expected finite values", refgru.gru_backward, x, W, np.ones((2, 2), "float32"))
    raises("x_t: expected finite values", refgru.gru_step, x[:, 2], H0, W)
    raises("initial_state: expected finite values", refgru.gru, X, W, initial_state=h0)
    raises("h_tm1: expected finite values", refgru.gru_step, X[:, 0], h0, W)
    raises("d_output: expected finite values", refgru.gru_backward, X, W, h0)
    raises(
        "W: expected finite values",
        refgru.GRUWeights.from_onnx,
        np.full((1, 6, 3), special),
        np.zeros((1, 6, 2)),
        None,
        1,
    )


# --- empty axes -----------------------------------------------------------------------------------------


def test_zero_steps_refused():
    raises("x: expected at least one time step|(2, 0, 3)", refgru.gru, X[:, :0], W)
    raises("x: expected at least one time step", refgru.trace, X[0, :0], W)


def test_empty_step_batch():
    """``gru_step`` on ``B=0`` returns ``(0, u)``, as Keras's GRUCell does on an empty batch."""
    h = refgru.gru_step(X[:0, 0], H0[:0], W)
    assert h.shape == (0, 2) and h.dtype == np.float32


# --- layouts and byte orders ----------------------------------------------------------------------------

LAYOUTS = {
    "fortran": np.asfortranarray,
    "strided": lambda a: np.repeat(a, 2, axis=-1)[..., ::2],
    "reversed view": lambda a: a[..., ::-1].copy()[..., ::-1],
    "big-endian": lambda a: a.astype(a.dtype.newbyteorder(">")),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layouts_give_identical_results(layout):
    """Any memory layout or byte order of x, the weights and the initial state: bit-identical results,
    in native byte order."""
    change = LAYOUTS[layout]
    x, weights, h0 = change(X), [change(a) for a in W], change(H0)
    assert np.array_equal(x, X) and (layout != "big-endian" or not x.dtype.isnative)
    for args in [(x, W, H0), (X, weights, H0), (X, W, h0), (x, weights, h0)]:
        result = refgru.gru(args[0], args[1], return_sequences=True, initial_state=args[2])
        assert result.dtype == np.dtype("float32") and result.dtype.isnative
        np.testing.assert_array_equal(result, EXPECTED, err_msg=layout)
    w = refgru.GRUWeights.from_keras(weights)
    assert all(a.dtype.isnative for a in w.to_keras())
    np.testing.assert_array_equal(refgru.gru_step(x[:, 0], h0, weights), refgru.gru_step(X[:, 0], H0, W))
    np.testing.assert_array_equal(refgru.trace(x[0], weights).h, refgru.trace(X[0], W).h)
    np.testing.assert_array_equal(refgru.gru_backward(x, weights, H0).d_kernel, refgru.gru_backward(X, W, H0).d_kernel)


# --- dtypes and nested lists ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, kind",
    [
        (X.astype(object), "dtype object"),
        (X.astype(complex), "complex"),
        (np.zeros((2, 4, 3), "U1"), "<U1"),
        (np.zeros((2, 4, 3), "M8[s]"), "datetime64"),
        ([[[1.0, None, 2.0]]], "dtype object"),
        ("abc", "<U3"),
    ],
)
def test_non_numeric_inputs_refused(bad, kind):
    raises(f"x: expected a numeric array|{kind}", refgru.gru, bad, W)


def test_object_weights_refused():
    raises("kernel: expected a floating-point array|dtype object", refgru.gru, X, [W[0].astype(object), W[1], W[2]])
    raises("kernel: expected a floating-point array|int64", refgru.gru, X, [W[0].astype(np.int64), W[1], W[2]])


def test_lists_of_lists_work():
    """Nested lists are read as NumPy reads them (float64), so the result is float64 like NumPy's promotion.
    (A list ``initial_state`` is the Keras list of states, so one state is ``[H0.tolist()]``.)"""
    result = refgru.gru(X.tolist(), [a.tolist() for a in W], return_sequences=True, initial_state=[H0.tolist()])
    expected = refgru.gru(
        X.astype("float64"), [a.astype("float64") for a in W], return_sequences=True, initial_state=H0.astype("float64")
    )
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(refgru.gru(X.tolist(), W), refgru.gru(X.astype("float64"), W))


RAGGED = [[[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]


def test_ragged_lists_refused():
    message = raises(
        "x: expected a numeric array|a list of length 2|not a rectangular array|rows differ", refgru.gru, RAGGED, W
    )
    assert "inhomogeneous" not in message
    raises(
        "kernel: expected a floating-point array|not a rectangular array",
        refgru.gru,
        X,
        [[[1.0], [2.0, 3.0]], W[1], W[2]],
    )
    raises("mask: expected|not a rectangular array", refgru.gru, X, W, mask=[[1, 1, 1, 1], [1]])
    raises("initial_state: expected|not a rectangular array", refgru.gru, X, W, initial_state=[[[1.0, 2.0], [1.0]]])
    raises("x_t: expected|not a rectangular array", refgru.gru_step, [[1.0, 2.0, 3.0], [1.0]], H0, W)
    raises("x: expected|not a rectangular array", refgru.trace, [[1.0, 2.0, 3.0], [1.0]], W)
    raises("x: expected|not a rectangular array", refgru.gru_backward, RAGGED, W, H0)
    raises(
        "W: expected|not a rectangular array",
        refgru.GRUWeights.from_onnx,
        [[1.0], [1.0, 2.0]],
        np.zeros((1, 6, 2)),
        None,
        1,
    )


def test_bool_and_integer_inputs_are_cast():
    """bool and integer x are cast to the weights' dtype (Keras 3 casts bool input to the layer's dtype too)."""
    for x in (X > 0, (X * 3).astype(np.int8), (X * 3).astype(">i4")):
        np.testing.assert_array_equal(refgru.gru(x, W), refgru.gru(x.astype("float32"), W))


def test_float_mask_with_nan_refused():
    raises("mask: expected a bool array", refgru.gru, X, W, mask=np.full((2, 4), np.nan))


# --- what Keras does in the same cases (pinned; the differences are documented) -------------------------


@pytest.mark.parametrize("version", [3, 2])
def test_keras_propagates_nan_where_refgru_refuses(keras_ref, version):
    x = X.copy()
    x[0, 1, 0] = np.nan
    out = keras_ref.keras_gru(version, W, x)
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()  # Keras: NaN in, NaN out for that row
    raises("x: expected finite values", refgru.gru, x, W)


@pytest.mark.parametrize("version", [3, 2])
def test_keras_refuses_zero_steps(keras_ref, version):
    with pytest.raises(keras_ref.tf.errors.InvalidArgumentError):  # from a strided slice, in both versions
        keras_ref.keras_gru(version, W, X[:, :0])


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("layout", ["fortran", "strided", "big-endian"])
def test_keras_agrees_on_layouts(keras_ref, version, layout):
    from helpers import assert_close

    x = LAYOUTS[layout](X)
    assert_close(
        f"{layout} x",
        refgru.gru(x, W, return_sequences=True),
        keras_ref.keras_gru(version, W, x, return_sequences=True),
    )


def test_keras3_casts_bool_input(keras_ref):
    from helpers import assert_close

    assert_close("bool x", refgru.gru(X > 0, W), keras_ref.keras_gru(3, W, X > 0))


@pytest.mark.parametrize("version", [3, 2])
def test_keras_refuses_object_arrays(keras_ref, version):
    with pytest.raises(ValueError):
        keras_ref.keras_gru(version, W, X.astype(object))


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_empty_batch_matches_keras(keras_ref, version, return_sequences):
    """``B=0``: Keras's layer call returns empty outputs of the right shape, and so does refgru."""
    from helpers import assert_close

    expected = keras_ref.keras_gru(version, W, X[:0], return_sequences=return_sequences)
    assert expected.shape == ((0, 4, 2) if return_sequences else (0, 2))
    assert_close("B=0", refgru.gru(X[:0], W, return_sequences=return_sequences), expected)


@pytest.mark.parametrize("version", [3, 2])
def test_keras_cell_on_an_empty_batch(keras_ref, version):
    """Keras's GRUCell on B=0 returns (0, u) float32, as refgru.gru_step does (test_empty_step_batch)."""
    cell = keras_ref.LIBS[version].layers.GRUCell(2)
    cell.build((None, 3))
    cell.set_weights(W)
    h, _ = cell(keras_ref.tf.constant(X[:0, 0]), [keras_ref.tf.constant(H0[:0])])
    h = np.asarray(h)
    assert h.shape == (0, 2) and h.dtype == np.float32
    ours = refgru.gru_step(X[:0, 0], H0[:0], W)
    assert ours.shape == h.shape and ours.dtype == h.dtype
