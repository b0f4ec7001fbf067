"""NumPy-only converter tests: key and array layouts, and what torch.nn.GRU and the ONNX GRU cannot represent.

They need neither torch nor onnx, so they live apart from test_convert_torch.py and test_convert_onnx.py
(which skip as a whole without their backend). Round trips on arrays are in test_convert_arrays.py.
"""

from __future__ import annotations

import numpy as np
from helpers import raises, random_weights

import refgru
from refgru import convert
from refgru.onnx_export import onnx_activations


def same(name: str, actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    """Bit-identical arrays with the same dtype and shape."""
    assert len(actual) == len(expected), f"{name}: {len(actual)} arrays != {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a.dtype == e.dtype and a.shape == e.shape, f"{name}[{i}]: {a.dtype}{a.shape} != {e.dtype}{e.shape}"
        assert np.array_equal(a, e), f"{name}[{i}]: not bit-identical"


def test_key_layout_and_gate_order():
    """weight_ih_l0 rows are [W_r; W_z; W_h]^T and the bias rows [b_r, b_z, b_h] / [rb_r, rb_z, rb_h]."""
    rng = np.random.default_rng(1)
    w = refgru.GRUWeights.from_keras(random_weights(rng, 4, 2))
    p = w.to_torch(layer=1, direction="reverse")
    assert sorted(p) == ["bias_hh_l1_reverse", "bias_ih_l1_reverse", "weight_hh_l1_reverse", "weight_ih_l1_reverse"]
    assert np.array_equal(p["weight_ih_l1_reverse"], np.concatenate([w.W_r, w.W_z, w.W_h], axis=1).T)
    assert np.array_equal(p["weight_hh_l1_reverse"], np.concatenate([w.U_r, w.U_z, w.U_h], axis=1).T)
    assert np.array_equal(p["bias_ih_l1_reverse"], np.concatenate([w.b_r, w.b_z, w.b_h]))
    assert np.array_equal(p["bias_hh_l1_reverse"], np.concatenate([w.rb_r, w.rb_z, w.rb_h]))
    assert all(v.flags.c_contiguous and v.flags.writeable for v in p.values())


def test_what_torch_cannot_represent_is_refused():
    rng = np.random.default_rng(5)
    before = refgru.GRUWeights.from_keras(random_weights(rng, 3, 2, reset_after=False))
    raises("weights: expected reset_after=True weights|torch.nn.GRU computes only|(r * h_tm1) @ U_h|"
           "got reset_after=False", before.to_torch)
    raises("weights: expected reset_after=True|got reset_after=False", convert.to_torch_state_dict, [before])
    after = refgru.GRUWeights.from_keras(random_weights(rng, 3, 2))
    raises("activation: expected 'tanh': torch.nn.GRU hard-codes tanh|got 'relu'", after.to_torch, activation="relu")
    raises("recurrent_activation: expected 'sigmoid'|got 'hard_sigmoid'", after.to_torch,
           recurrent_activation="hard_sigmoid")
    raises("direction: expected 'forward' or 'reverse'|got 'up'", after.to_torch, direction="up")
    raises("layer: expected a layer index >= 0|got -1", after.to_torch, layer=-1)


def test_activation_attributes_follow_onnxruntime_packing():
    """alpha/beta are listed only for the functions that take them, in order (f, g per direction).

    That onnxruntime reads them so is shown by the mapping test above: with ("leaky_relu", "sigmoid") the
    only alpha, 0.2, is the LeakyRelu's; read one per function, LeakyRelu would get its default 0.01.
    """
    assert onnx_activations() == {"activations": ["Sigmoid", "Tanh"]}
    assert onnx_activations("leaky_relu", "hard_sigmoid", 2) == {"activations": ["HardSigmoid", "LeakyRelu"],
                                                                "activation_alpha": [0.2, float(np.float32(0.2))],
                                                                "activation_beta": [0.5]}
    assert onnx_activations("linear", "sigmoid", 3, num_directions=2) == {
        "activations": ["Sigmoid", "Affine", "Sigmoid", "Affine"], "activation_alpha": [1.0, 1.0],
        "activation_beta": [0.0, 0.0]}
    assert onnx_activations(None)["activations"] == ["Sigmoid", "Affine"]  # Keras: None is linear


def test_onnx_layout_and_reset_after_false_bias():
    rng = np.random.default_rng(13)
    w = refgru.GRUWeights.from_keras(random_weights(rng, 3, 2))
    o = w.to_onnx()
    assert np.array_equal(o["W"][0], np.concatenate([w.W_z, w.W_r, w.W_h], axis=1).T)
    assert np.array_equal(o["R"][0], np.concatenate([w.U_z, w.U_r, w.U_h], axis=1).T)
    assert np.array_equal(o["B"][0], np.concatenate([w.b_z, w.b_r, w.b_h, w.rb_z, w.rb_r, w.rb_h]))
    before = refgru.GRUWeights.from_keras(random_weights(rng, 3, 2, reset_after=False)).to_onnx()
    assert before["linear_before_reset"] == 0 and not before["B"][0, 6:].any() and before["B"].dtype == np.float32
    assert refgru.GRUWeights.from_keras(random_weights(rng, 3, 2, use_bias=False)).to_onnx()["B"] is None


def test_bidirectional_round_trip_and_direction_argument():
    rng = np.random.default_rng(14)
    fw, bw = (refgru.GRUWeights.from_keras(random_weights(rng, 3, 2, dtype="float64")) for _ in range(2))
    o = convert.to_onnx([fw, bw])
    both = refgru.GRUWeights.from_onnx(o["W"], o["R"], o["B"], o["linear_before_reset"])
    same("forward, reverse", [a for w in both for a in w.to_keras()], fw.to_keras() + bw.to_keras())
    same("direction='reverse'", refgru.GRUWeights.from_onnx(**o, direction="reverse").to_keras(), bw.to_keras())
    one = fw.to_onnx()
    same("2-D W, R and 1-D B", convert.from_onnx(one["W"][0], one["R"][0], one["B"][0], 1).to_keras(), fw.to_keras())


def test_bad_onnx_inputs_are_refused():
    rng = np.random.default_rng(18)
    o = refgru.GRUWeights.from_keras(random_weights(rng, 3, 2)).to_onnx()
    raises("W: expected shape (num_directions, 3 * hidden_size, input_size)|(3, 6, 3)", convert.from_onnx,
           np.zeros((3, 6, 3), np.float32), o["R"], None, 1)
    raises("R: expected shape (1, 6, 2) to match W (1, 6, 3)|(1, 6, 3)", convert.from_onnx, o["W"],
           np.zeros((1, 6, 3), np.float32), None, 1)
    raises("B: expected shape (1, 12)|(1, 6)", convert.from_onnx, o["W"], o["R"], o["B"][:, :6], 1)
    raises("linear_before_reset: expected 0 or 1|got 2", convert.from_onnx, o["W"], o["R"], o["B"], 2)
    raises("direction: expected None or one of ['forward']|got 'reverse'", convert.from_onnx, **o, direction="reverse")
    raises("W: expected a floating-point array|int64", convert.from_onnx, o["W"].astype(np.int64), o["R"], None, 1)
    for call in (convert.from_onnx, refgru.GRUWeights.from_onnx):  # no silent default: ONNX's own is 0, not 1
        raises("linear_before_reset: expected 0 or 1, the GRU node's attribute|got nothing", call, o["W"], o["R"])
    raises("weights: expected one GRUWeights or [forward, reverse]|a list of length 3", convert.to_onnx, [o] * 3)
