"""Bad input gets a RefgruError naming the argument, what was expected and what was received."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import raises

import refgru

rng = np.random.default_rng(0)
K, RK, B2, B1 = rng.normal(size=(3, 6)), rng.normal(size=(2, 6)), rng.normal(size=(2, 6)), rng.normal(size=6)
X = rng.normal(size=(2, 4, 3))


def test_wrong_number_of_weight_arrays():
    raises("weights: expected 2 arrays|got 4 arrays", refgru.gru, X, [K, RK, B2, B2])
    raises("weights: expected 2 arrays|got 1 arrays", refgru.gru, X, [K])
    raises("weights: expected the list GRU.get_weights() returns|got an array of shape (3, 6)", refgru.gru, X, K)


def test_kernel_shapes_that_disagree():
    raises(
        "kernel: expected shape (input_dim, 3 * units)|got an array of shape (3, 5)",
        refgru.gru,
        X,
        [rng.normal(size=(3, 5)), RK],
    )
    raises(
        "recurrent_kernel: expected shape (2, 6)|got an array of shape (3, 6)",
        refgru.gru,
        X,
        [K, rng.normal(size=(3, 6))],
    )
    raises(
        "bias: expected shape (2, 6) (reset_after=True) or (6,)|got an array of shape (3, 6)",
        refgru.gru,
        X,
        [K, RK, rng.normal(size=(3, 6))],
    )
    raises("bias: expected|got an array of shape (9,)", refgru.gru, X, [K, RK, rng.normal(size=9)])
    raises("kernel: expected a floating-point array|int64", refgru.gru, X, [np.ones((3, 6), int), RK])
    raises("recurrent_kernel: expected dtype float64 like kernel|float32", refgru.gru, X, [K, RK.astype("f4")])


def test_reset_after_contradicting_the_bias():
    raises(
        "reset_after: expected True for a bias of shape (2, 6)|got False", refgru.gru, X, [K, RK, B2], reset_after=False
    )
    raises(
        "reset_after: expected False for a bias of shape (6,)|got True", refgru.gru, X, [K, RK, B1], reset_after=True
    )
    raises("reset_after: expected True, False or None|got 'yes'", refgru.GRUWeights, K, RK, B2, "yes")


def test_input_rank_and_features():
    raises(
        "x: expected 3 dimensions (batch, time, features)|got an array of shape (4, 3)", refgru.gru, X[0], [K, RK, B2]
    )
    raises(
        "x: expected features = 3|got an array of shape (2, 4, 5)", refgru.gru, rng.normal(size=(2, 4, 5)), [K, RK, B2]
    )
    raises("x: expected a numeric array|dtype <U1", refgru.gru, np.full((2, 4, 3), "a"), [K, RK, B2])
    raises("x: expected at least one time step|(2, 0, 3)", refgru.gru, np.zeros((2, 0, 3)), [K, RK, B2])


def test_mask_and_initial_state_shapes():
    raises(
        "mask: expected shape (2, 4) = (batch, time)|got an array of shape (4,)",
        refgru.gru,
        X,
        [K, RK, B2],
        mask=np.ones(4, bool),
    )
    raises(
        "mask: expected shape (2, 4)|got an array of shape (1, 4)",
        refgru.gru,
        X,
        [K, RK, B2],
        mask=np.ones((1, 4), bool),
    )
    raises("mask: expected a bool array|int64", refgru.gru, X, [K, RK, B2], mask=np.full((2, 4), 2))
    raises(
        "initial_state: expected shape (2, 2) = (batch, units)|got an array of shape (1, 2)",
        refgru.gru,
        X,
        [K, RK, B2],
        initial_state=np.zeros((1, 2)),
    )
    raises(
        "initial_state: expected shape (2, 2)|got an array of shape (2,)",
        refgru.gru,
        X,
        [K, RK, B2],
        initial_state=np.zeros(2),
    )
    raises(
        "initial_state: expected one (B, u) array or a one-element list|got a list of length 2",
        refgru.gru,
        X,
        [K, RK, B2],
        initial_state=[np.zeros((2, 2))] * 2,
    )


def test_unknown_activation_and_options():
    raises("activation: expected a Keras 3 activation name|got 'tanhh'", refgru.gru, X, [K, RK, B2], activation="tanhh")
    raises(
        "recurrent_activation: expected a Keras 2 activation name|'celu' exists only in Keras 3",
        refgru.gru,
        X,
        [K, RK, B2],
        recurrent_activation="celu",
        keras_version=2,
    )
    raises("activation: expected an element-wise activation|'glu'", refgru.gru, X, [K, RK, B2], activation="glu")
    raises("keras_version: expected 2 or 3|got 4", refgru.gru, X, [K, RK, B2], keras_version=4)
    raises("return_sequences: expected True or False|got 'yes'", refgru.gru, X, [K, RK, B2], return_sequences="yes")


def test_gru_step_checks_its_arguments():
    raises(
        "x_t: expected shape (B, 3)|got an array of shape (2, 4, 3)", refgru.gru_step, X, np.zeros((2, 2)), [K, RK, B2]
    )
    raises(
        "h_tm1: expected shape (2, 2)|got an array of shape (3, 2)",
        refgru.gru_step,
        X[:, 0],
        np.zeros((3, 2)),
        [K, RK, B2],
    )


def test_nothing_is_broadcast():
    """A mask or state that NumPy could broadcast is still refused."""
    with pytest.raises(refgru.RefgruError):
        refgru.gru(X, [K, RK, B2], mask=np.ones((1, 4), bool))
    with pytest.raises(refgru.RefgruError):
        refgru.gru(X, [K, RK, B2], initial_state=np.zeros((1, 2)))


HOSTILE = "gru\n\x1b[31mred\r\x00" + "x" * 5000


def one_line(message: str) -> None:
    assert message.isprintable() and "\n" not in message and "\x1b" not in message, repr(message)


def test_quoted_names_and_values_stay_on_one_line():
    """A name with a newline and an escape code, from a file or a caller, is escaped and cut, never printed raw."""
    from refgru.errors import QUOTE_LIMIT, describe, error, quote

    text = quote(HOSTILE)
    one_line(text)
    assert text.startswith("'gru\\n\\x1b[31mred\\r\\x00") and text.endswith("...'")
    assert len(text) < 4 * QUOTE_LIMIT + 10
    message = str(error(f"layer {quote(HOSTILE)}", "a known class", HOSTILE))
    one_line(message)
    assert message.startswith("layer 'gru\\n\\x1b[31mred") and ": expected a known class, got 'gru\\n" in message
    assert len(message) < 1200

    class Evil:
        def __repr__(self):
            return "evil\n" * 10_000

    one_line(describe(Evil()))
    assert describe(Evil()).endswith("... (Evil)") and len(describe(Evil())) < 200
    one_line(str(error("x", "y", got=HOSTILE)))
    one_line(str(refgru.RefgruError("raw\nmessage\x1b")))


def test_a_bad_option_value_from_the_caller_is_escaped():
    with pytest.raises(refgru.RefgruError) as info:
        refgru.export_onnx([K, RK, B2], None, return_sequences=HOSTILE)
    one_line(str(info.value))
    assert str(info.value).startswith("return_sequences: expected True or False, got 'gru\\n")


def test_check_flag_is_the_one_bool_checker():
    from refgru.core.checks import check_flag

    assert check_flag("go_backwards", np.bool_(True)) is True and check_flag("go_backwards", False) is False
    for bad in (1, "yes", None, np.array([True])):
        raises("go_backwards: expected True or False|got", check_flag, "go_backwards", bad)
