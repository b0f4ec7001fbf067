"""Pure-NumPy converter round trips: reorder, to_onnx/from_onnx and to_torch/from_torch on arrays.

Needs neither torch, onnx nor Keras (torch and onnx agreement is in test_convert_torch/test_convert_onnx).
Every round trip must be bit-identical and keep the dtype, with random non-zero biases.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import raises

import refgru
from refgru import convert
from refgru.activations import ACTIVATIONS
from refgru.convert.layouts import FRAMEWORKS
from refgru.onnx.activations import ONNX_ACTIVATIONS, ONNX_TABLE


def layer(rng, input_dim=3, units=2, reset_after=True, use_bias=True, dtype="float64"):
    """Random GRUWeights; biases are drawn away from zero so that no bias block is silently dropped."""
    kernel = rng.normal(size=(input_dim, 3 * units))
    recurrent = rng.normal(size=(units, 3 * units))
    shape = (2, 3 * units) if reset_after else (3 * units,)
    bias = (rng.uniform(0.1, 1, shape) * rng.choice([-1, 1], shape)) if use_bias else None
    bias = None if bias is None else bias.astype(dtype)
    return refgru.GRUWeights(kernel.astype(dtype), recurrent.astype(dtype), bias, reset_after=reset_after)


def same(name, actual, expected):
    assert len(actual) == len(expected), name
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a.dtype == e.dtype and a.shape == e.shape, f"{name}[{i}]: {a.dtype}{a.shape} != {e.dtype}{e.shape}"
        assert np.array_equal(a, e), f"{name}[{i}]: not bit-identical"


@pytest.mark.parametrize("source, target", [(s, t) for s in convert.LAYOUTS for t in convert.LAYOUTS])
def test_reorder_moves_whole_blocks_and_inverts(source, target):
    u = 3
    blocks = np.concatenate([np.full(u, "zrh".index(g)) for g in convert.LAYOUTS[source]])
    moved = convert.reorder(blocks, source, target)
    assert list(moved[::u]) == ["zrh".index(g) for g in convert.LAYOUTS[target]]
    data = np.random.default_rng(0).normal(size=(4, 3 * u, 2))
    assert np.array_equal(convert.reorder(convert.reorder(data, source, target, axis=1), target, source, axis=1), data)


def test_the_one_table_gives_the_old_views():
    assert convert.LAYOUTS == {"keras": ("z", "r", "h"), "torch": ("r", "z", "h"), "onnx": ("z", "r", "h")}
    assert convert.TORCH_PARAMETERS == {"weight_ih": "kernel", "weight_hh": "recurrent_kernel",
                                        "bias_ih": "input_bias", "bias_hh": "recurrent_bias"}
    assert FRAMEWORKS["onnx"].parameters["B"] == ("input_bias", "recurrent_bias")
    assert dict(convert.DIRECTIONS) == {"forward": "", "reverse": "_reverse", "backward": "_reverse"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("reset_after", [True, False])
def test_onnx_round_trip_on_arrays(reset_after, use_bias, dtype):
    rng = np.random.default_rng(1)
    w = layer(rng, 3, 4, reset_after, use_bias, dtype)
    o = w.to_onnx()
    assert o["linear_before_reset"] == int(reset_after) and o["W"].shape == (1, 12, 3) and o["R"].shape == (1, 12, 4)
    assert np.array_equal(o["W"][0], np.concatenate([w.W_z, w.W_r, w.W_h], axis=1).T)
    if use_bias:
        rb = [w.rb_z, w.rb_r, w.rb_h] if reset_after else [np.zeros(4, dtype)] * 3
        assert np.array_equal(o["B"][0], np.concatenate([w.b_z, w.b_r, w.b_h, *rb]))
    else:
        assert o["B"] is None
    for back in (refgru.GRUWeights.from_onnx(**o), convert.from_onnx(**o)):
        assert back.reset_after == reset_after
        same("Keras -> ONNX -> Keras", back.to_keras(), w.to_keras())
    if reset_after or use_bias:  # a get_weights() list without a bias implies reset_after=True
        same("get_weights() list in", convert.from_onnx(**convert.to_onnx(w.to_keras())).to_keras(), w.to_keras())


@pytest.mark.parametrize("reset_after", [True, False])
def test_bidirectional_onnx_round_trip_and_directions(reset_after):
    rng = np.random.default_rng(2)
    fw, bw = layer(rng, 3, 2, reset_after), layer(rng, 3, 2, reset_after)
    o = convert.to_onnx([fw, bw])
    assert o["W"].shape == (2, 6, 3) and o["B"].shape == (2, 12)
    both = refgru.GRUWeights.from_onnx(**o)
    same("forward, reverse", [a for w in both for a in w.to_keras()], fw.to_keras() + bw.to_keras())
    for direction, expected in (("forward", fw), ("reverse", bw), ("backward", bw)):
        same(direction, convert.from_onnx(**o, direction=direction).to_keras(), expected.to_keras())
    one = fw.to_onnx()
    B = None if one["B"] is None else one["B"][0]
    same("2-D W, R and 1-D B", convert.from_onnx(one["W"][0], one["R"][0], B, one["linear_before_reset"]).to_keras(),
         fw.to_keras())


def test_onnx_reset_after_false_with_a_recurrent_bias_adds_it():
    """linear_before_reset=0 with non-zero Rb: ONNX adds Rb next to Wb in every gate, so Keras's bias is Wb + Rb."""
    rng = np.random.default_rng(3)
    W, R, B = rng.normal(size=(1, 6, 3)), rng.normal(size=(1, 6, 2)), rng.uniform(0.1, 1, (1, 12))
    w = convert.from_onnx(W, R, B, linear_before_reset=0)
    assert not w.reset_after
    assert np.array_equal(w.bias, convert.import_array(B[0, :6] + B[0, 6:], "onnx"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_torch_round_trip_on_arrays(use_bias, dtype):
    rng = np.random.default_rng(4)
    w = layer(rng, 3, 4, True, use_bias, dtype)
    p = w.to_torch()
    assert sorted(p) == (["bias_hh_l0", "bias_ih_l0"] if use_bias else []) + ["weight_hh_l0", "weight_ih_l0"]
    u = 4
    assert np.array_equal(p["weight_ih_l0"], np.concatenate([w.W_r, w.W_z, w.W_h], axis=1).T)
    if use_bias:
        assert np.array_equal(p["bias_ih_l0"][:u], w.b_r) and np.array_equal(p["bias_hh_l0"][2 * u:], w.rb_h)
    for back in (refgru.GRUWeights.from_torch(p), convert.from_torch(p)):
        same("Keras -> torch -> Keras", back.to_keras(), w.to_keras())
    raises("weights: expected reset_after=True|got reset_after=False", layer(rng, reset_after=False).to_torch)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_stacked_torch_keys_round_trip(bidirectional):
    rng = np.random.default_rng(5)
    per, units = (2 if bidirectional else 1), 2
    layers = [layer(rng, 3 if i < per else units * per, units) for i in range(2 * per)]
    state = convert.to_torch_state_dict(layers, bidirectional=bidirectional)
    names = [f"{k}_l{i}{s}" for i in range(2) for s in (["", "_reverse"] if bidirectional else [""])
             for k in convert.TORCH_PARAMETERS]
    assert sorted(state) == sorted(names)
    same("from_torch_all", [a for w in convert.from_torch_all(state) for a in w.to_keras()],
         [a for w in layers for a in w.to_keras()])
    prefixed = {f"encoder.gru.{k}": v for k, v in state.items()}
    same("prefix found", convert.from_torch(prefixed, 1, "reverse" if bidirectional else "forward").to_keras(),
         layers[-1].to_keras())


def test_onnx_activation_table_agrees_with_the_activation_table():
    """One ONNX table: its names exist in refgru's activations for that Keras version, and its GRU view is a
    subset of it with a function the ONNX GRU operator defines."""
    from refgru.onnx.activations import ONNX_GRU_FUNCTIONS

    for version, table in ONNX_TABLE.items():
        assert set(table) <= set(ACTIVATIONS[version]), set(table) - set(ACTIVATIONS[version])
        assert set(ONNX_ACTIVATIONS[version]) <= set(table)
        assert {f for f, _, _ in ONNX_ACTIVATIONS[version].values()} <= set(ONNX_GRU_FUNCTIONS)
    assert ONNX_ACTIVATIONS[2]["hard_sigmoid"] == ("HardSigmoid", 0.2, 0.5)
    assert ONNX_ACTIVATIONS[3]["hard_sigmoid"] == ("HardSigmoid", 1 / 6, 0.5)
