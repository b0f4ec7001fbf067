"""Each of the 12 named slices, shown at work: change only that slice and Keras and refgru move together.

Every test perturbs exactly one column block of one Keras array (found by explicit index arithmetic,
not by refgru), sets it with ``set_weights`` in Keras 3 and tf-keras, and checks that
- ``GRUWeights`` names that very block,
- the output moves (the slice is used), and
- refgru still matches Keras after the change.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, keras_gru, random_weights

import refgru

pytest.importorskip("keras_ref")  # every test in this module runs Keras: without it the module skips

U, F, B, T = 3, 2, 2, 4
BLOCK = {"z": 0, "r": 1, "h": 2}
ARRAY = {"W": 0, "U": 1, "b": 2, "rb": 2}


def block_index(name: str, reset_after: bool):
    """The numpy index of slice ``name`` (e.g. ``"U_h"``) within its Keras array."""
    prefix, gate = name.split("_")
    cols = slice(BLOCK[gate] * U, (BLOCK[gate] + 1) * U)
    if prefix in ("W", "U"):
        return (slice(None), cols)
    if not reset_after:
        return (cols,)
    return (0 if prefix == "b" else 1, cols)


def run_both(weights, x, reset_after):
    """refgru and Keras (3 and 2) on the same weights; returns refgru's output after checking agreement."""
    out = refgru.gru(x, weights, return_sequences=True)
    for version in (3, 2):
        expected = keras_gru(version, weights, x, reset_after=reset_after, return_sequences=True, dtype="float64")
        assert_close(f"Keras {version} output", out, expected)
    return out


def check_slice(name: str, reset_after: bool = True) -> None:
    rng = np.random.default_rng(sum(map(ord, name)) + reset_after)
    weights = random_weights(rng, F, U, reset_after=reset_after, dtype="float64")
    x = rng.normal(size=(B, T, F))
    before = run_both(weights, x, reset_after)
    index, array = block_index(name, reset_after), ARRAY[name.split("_")[0]]
    changed = [w.copy() for w in weights]
    changed[array][index] += rng.normal(size=changed[array][index].shape)
    named = getattr(refgru.GRUWeights.from_keras(changed), name)
    np.testing.assert_array_equal(named, changed[array][index], err_msg=f"GRUWeights.{name}")
    after = run_both(changed, x, reset_after)
    assert np.abs(after - before).max() > 1e-3, f"changing {name} did not move the output"


#: Every named slice, what it does (as data: the test's documentation), and the variants it exists in.
SLICES = [
    ("W_z", "W_z = kernel[:, 0:u] maps x_t into the update gate z = σ(x_t W_z + b_z + ...), which decides how much "
            "of h_tm1 is kept.", (True, False)),
    ("W_r", "W_r = kernel[:, u:2u] maps x_t into the reset gate r, which scales the recurrent part of the candidate "
            "hh.", (True, False)),
    ("W_h", "W_h = kernel[:, 2u:3u] maps x_t directly into the candidate hh = act(x_t W_h + b_h + ...).",
     (True, False)),
    ("U_z", "U_z = recurrent_kernel[:, 0:u] feeds h_tm1 into the update gate z.", (True, False)),
    ("U_r", "U_r = recurrent_kernel[:, u:2u] feeds h_tm1 into the reset gate r.", (True, False)),
    ("U_h", "U_h = recurrent_kernel[:, 2u:3u] feeds the state into hh: r * (h_tm1 U_h + rb_h) after reset, or "
            "(r * h_tm1) U_h before.", (True, False)),
    ("b_z", "b_z (bias row 0, or the (3u,) bias, columns 0:u) shifts the update gate's pre-activation.", (True, False)),
    ("b_r", "b_r (columns u:2u of the input bias) shifts the reset gate's pre-activation.", (True, False)),
    ("b_h", "b_h (columns 2u:3u of the input bias) is added to x_t W_h outside the reset gate.", (True, False)),
    ("rb_z", "rb_z = bias[1, 0:u], the recurrent bias of z: added to h_tm1 U_z. It exists only with "
             "reset_after=True.", (True,)),
    ("rb_r", "rb_r = bias[1, u:2u], the recurrent bias of r: added to h_tm1 U_r.", (True,)),
    ("rb_h", "rb_h = bias[1, 2u:3u] sits inside the reset: hh = act(x_h + r * (h_tm1 U_h + rb_h)), so r scales it.",
     (True,)),
]


@pytest.mark.parametrize("name, role, reset_after",
                         [pytest.param(name, role, reset_after, id=f"{name}-{reset_after}")
                          for name, role, variants in SLICES for reset_after in variants])
def test_slice(name, role, reset_after):
    """Change only slice ``name`` (doing what ``role`` says): GRUWeights names it, and Keras and refgru move
    together."""
    check_slice(name, reset_after)


def test_the_table_names_every_slice():
    """The table covers the twelve slices GRUWeights names, each once, and says what each does."""
    assert [name for name, _, _ in SLICES] == refgru.core.weights.slice_names()
    assert all(role.startswith(name) for name, role, _ in SLICES)


def test_recurrent_bias_row_matters_exactly_with_reset_after():
    """A (2, 3u) bias means reset_after=True and both rows are used; with (3u,) there is no second row at all.

    Moving row 1 moves the output (in Keras and refgru). Moving row 0 by a vector and row 1 by the same
    vector is not the same as moving row 0 by twice that vector: the rows are different parameters,
    because rb_h is multiplied by r.
    """
    rng = np.random.default_rng(7)
    weights = random_weights(rng, F, U, reset_after=True, dtype="float64")
    x = rng.normal(size=(B, T, F))
    base = run_both(weights, x, True)
    delta = rng.normal(size=3 * U)
    row1 = [w.copy() for w in weights]
    row1[2][1] += delta
    moved = run_both(row1, x, True)
    assert np.abs(moved - base).max() > 1e-3
    split = [w.copy() for w in weights]
    split[2][0] += delta
    split[2][1] += delta
    doubled = [w.copy() for w in weights]
    doubled[2][0] += 2 * delta
    assert np.abs(run_both(split, x, True) - run_both(doubled, x, True)).max() > 1e-3
    w_false = refgru.GRUWeights.from_keras(random_weights(rng, F, U, reset_after=False, dtype="float64"))
    assert w_false.recurrent_bias is None and w_false.rb_h is None and w_false.bias.shape == (3 * U,)


@pytest.mark.parametrize("reset_after", [True, False])
def test_large_b_z_keeps_initial_state(reset_after):
    """b_z = +60 saturates z at 1, so h = z * h_tm1 + (1 - z) * hh keeps the initial state, in Keras and refgru."""
    rng = np.random.default_rng(3)
    weights = random_weights(rng, F, U, reset_after=reset_after, dtype="float64")
    weights[2][block_index("b_z", reset_after)] = 60.0
    x = rng.normal(size=(B, T, F))
    h0 = rng.normal(size=(B, U))
    out = refgru.gru(x, weights, initial_state=h0)
    for version in (3, 2):
        expected = keras_gru(version, weights, x, initial_state=h0, reset_after=reset_after, dtype="float64")
        assert_close(f"Keras {version}", out, expected)
        np.testing.assert_allclose(expected, h0, atol=1e-12)


@pytest.mark.parametrize("reset_after", [True, False])
def test_large_negative_b_r_makes_U_h_irrelevant(reset_after):
    """b_r = -60 closes the reset gate (r = 0), so U_h (and rb_h) no longer reach hh, in both variants."""
    rng = np.random.default_rng(4)
    weights = random_weights(rng, F, U, reset_after=reset_after, dtype="float64")
    weights[2][block_index("b_r", reset_after)] = -60.0
    x = rng.normal(size=(B, T, F))
    other = [w.copy() for w in weights]
    other[1][:, 2 * U :] = rng.normal(size=(U, U)) * 5
    for version in (3, 2):
        a = keras_gru(version, weights, x, reset_after=reset_after, dtype="float64")
        b = keras_gru(version, other, x, reset_after=reset_after, dtype="float64")
        np.testing.assert_allclose(a, b, atol=1e-12)
        assert_close(f"Keras {version}", refgru.gru(x, other), b)


def test_without_bias_the_variants_differ():
    """With use_bias=False the variants still differ: r multiplies h_tm1 U_h (after) or h_tm1 (before)."""
    rng = np.random.default_rng(5)
    weights = random_weights(rng, F, U, use_bias=False, dtype="float64")
    x = rng.normal(size=(B, T, F))
    outs = {}
    for reset_after in (True, False):
        outs[reset_after] = refgru.gru(x, weights, reset_after=reset_after)
        for version in (3, 2):
            expected = keras_gru(version, weights, x, reset_after=reset_after, dtype="float64")
            assert_close(f"Keras {version}", outs[reset_after], expected)
    assert np.abs(outs[True] - outs[False]).max() > 1e-3
