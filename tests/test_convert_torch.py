"""Keras GRU weights -> torch.nn.GRU and back.

torch computes what Keras 3 and tf-keras compute, and round trips are bit-identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, raises, random_weights
from hypothesis import given, settings
from hypothesis import strategies as st

import refgru
from refgru import convert

# Every test here runs torch; the NumPy-only layout and refusal tests are in test_convert_numpy.py.
torch = pytest.importorskip("torch")


def torch_run(module, x: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(y (B, T, D*u), h_n (L*D, B, u))`` of a batch_first torch GRU."""
    with torch.no_grad():
        y, h_n = module(torch.from_numpy(x), None if h0 is None else torch.from_numpy(h0))
    return y.numpy(), h_n.numpy()


def load(state: dict[str, np.ndarray], input_dim: int, units: int, dtype: str, **options):
    """``nn.GRU(input_dim, units, batch_first=True, **options)`` in ``dtype`` with ``state`` loaded strictly."""
    module = torch.nn.GRU(input_dim, units, batch_first=True, **options).to(getattr(torch, dtype))
    module.load_state_dict({key: torch.from_numpy(value) for key, value in state.items()}, strict=True)
    return module


def same(name: str, actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    """Bit-identical arrays with the same dtype and shape."""
    assert len(actual) == len(expected), f"{name}: {len(actual)} arrays != {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a.dtype == e.dtype and a.shape == e.shape, f"{name}[{i}]: {a.dtype}{a.shape} != {e.dtype}{e.shape}"
        assert np.array_equal(a, e), f"{name}[{i}]: not bit-identical"


@st.composite
def cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, steps, input_dim, units = (draw(st.integers(1, n)) for n in (3, 5, 4, 4))
    dtype, use_bias = draw(st.sampled_from(["float32", "float64"])), draw(st.booleans())
    weights = random_weights(rng, input_dim, units, use_bias=use_bias, dtype=dtype)
    x = rng.normal(size=(batch, steps, input_dim)).astype(dtype)
    h0 = rng.normal(size=(batch, units)).astype(dtype) if draw(st.booleans()) else None
    return draw(st.sampled_from([3, 2])), weights, x, h0, dtype


@settings(max_examples=24)
@given(cases())
def test_torch_output_equals_keras(keras_ref, case):
    """reset_after=True, with and without bias and initial state: nn.GRU after to_torch() gives Keras's numbers."""
    version, weights, x, h0, dtype = case
    seq, state = keras_ref.keras_gru(version, weights, x, initial_state=h0, dtype=dtype, reset_after=True,
                           return_sequences=True, return_state=True)
    w = refgru.GRUWeights.from_keras(weights)
    params = w.to_torch()
    keys = ["weight_ih_l0", "weight_hh_l0"] + (["bias_ih_l0", "bias_hh_l0"] if w.use_bias else [])
    assert sorted(params) == sorted(keys)
    y, h_n = torch_run(load(params, w.input_dim, w.units, dtype, bias=w.use_bias), x, None if h0 is None else h0[None])
    assert_close(f"torch y vs Keras {version} sequence", y, seq)
    assert_close(f"torch h_n vs Keras {version} state", h_n[0], state)


@pytest.mark.parametrize("version", [3, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_round_trip_keras_torch_keras_is_bit_identical(keras_ref, version, dtype, use_bias):
    """Keras get_weights -> nn.GRU -> from_torch -> a new Keras layer's get_weights: the same bits and dtype."""
    rng = np.random.default_rng(7)
    lib, tf = keras_ref.LIBS[version], keras_ref.tf
    layer = lib.layers.GRU(3, use_bias=use_bias, dtype=dtype, bias_initializer="random_normal")
    layer.build((None, None, 4))
    original = layer.get_weights()
    module = load(refgru.GRUWeights.from_keras(original).to_torch(), 4, 3, dtype, bias=use_bias)
    assert next(module.parameters()).dtype == getattr(torch, dtype)
    back = refgru.GRUWeights.from_torch(module)
    assert back.reset_after and back.dtype == np.dtype(dtype)
    copy = lib.layers.GRU(3, use_bias=use_bias, dtype=dtype)
    copy.build((None, None, 4))
    copy.set_weights(back.to_keras())
    same("Keras -> torch -> Keras", copy.get_weights(), original)
    x = rng.normal(size=(2, 3, 4)).astype(dtype)
    assert np.array_equal(np.asarray(copy(tf.constant(x))), np.asarray(layer(tf.constant(x))))


def keras_stack(keras_ref, version: int, layers: list[list[np.ndarray]], x: np.ndarray, bidirectional: bool,
                dtype: str):
    """Run ``len(layers)`` stacked Keras GRUs (Bidirectional(GRU) with concat: two weight lists per layer)."""
    lib, per, states = keras_ref.LIBS[version], 2 if bidirectional else 1, []
    h = keras_ref.tf.constant(x)
    for k in range(len(layers) // per):
        units = layers[k * per][1].shape[0]
        gru = lib.layers.GRU(units, return_sequences=True, return_state=True, dtype=dtype)
        layer = lib.layers.Bidirectional(gru, merge_mode="concat", dtype=dtype) if bidirectional else gru
        layer.build(tuple(h.shape))
        layer.set_weights([a for w in layers[k * per : (k + 1) * per] for a in w])
        h, *layer_states = layer(h)
        states += [np.asarray(s) for s in layer_states]
    return np.asarray(h), np.stack(states)


@settings(max_examples=12)
@given(st.data())
def test_stacked_and_bidirectional_equal_keras(keras_ref, data):
    """nn.GRU(num_layers=1|2, bidirectional=...) vs stacked Keras GRUs / Bidirectional(GRU, merge_mode='concat')."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    version, dtype = data.draw(st.sampled_from([3, 2])), data.draw(st.sampled_from(["float32", "float64"]))
    num_layers, bidirectional = data.draw(st.integers(1, 2)), data.draw(st.booleans())
    batch, steps, input_dim, units = (data.draw(st.integers(1, n)) for n in (3, 4, 3, 3))
    per = 2 if bidirectional else 1
    layers = [random_weights(rng, input_dim if i < per else units * per, units, dtype=dtype)
              for i in range(num_layers * per)]
    x = rng.normal(size=(batch, steps, input_dim)).astype(dtype)
    seq, states = keras_stack(keras_ref, version, layers, x, bidirectional, dtype)
    weights = [refgru.GRUWeights.from_keras(w) for w in layers]
    state = convert.to_torch_state_dict(weights, bidirectional=bidirectional)
    module = load(state, input_dim, units, dtype, num_layers=num_layers, bidirectional=bidirectional)
    y, h_n = torch_run(module, x)
    assert_close(f"torch y vs Keras {version} stack (layers={num_layers}, bidirectional={bidirectional})", y, seq)
    assert_close(f"torch h_n vs Keras {version} states", h_n, states)
    back = convert.from_torch_all(module)
    same("from_torch_all", [a for w in back for a in w.to_keras()], [a for w in layers for a in w])
    rebuilt = convert.torch_module(back, bidirectional=bidirectional)
    assert all(torch.equal(rebuilt.state_dict()[k], v) for k, v in module.state_dict().items())


def test_state_dicts_of_arrays_tensors_and_containers():
    rng = np.random.default_rng(2)
    w = refgru.GRUWeights.from_keras(random_weights(rng, 3, 2))
    arrays = w.to_torch()
    same("state dict of NumPy arrays", refgru.GRUWeights.from_torch(arrays).to_keras(), w.to_keras())
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), convert.torch_module(w))
    same("prefix found in a container's state dict", convert.from_torch(model.state_dict()).to_keras(), w.to_keras())
    same("prefix given", convert.from_torch(model.state_dict(), prefix="1.").to_keras(), w.to_keras())
    two = torch.nn.ModuleDict({"a": convert.torch_module(w), "b": convert.torch_module(w)})
    with pytest.raises(refgru.RefgruError, match="pass prefix= to pick one, got several GRUs"):
        convert.from_torch(two.state_dict())
    same("two GRUs, prefix given", convert.from_torch(two.state_dict(), prefix="b.").to_keras(), w.to_keras())


def test_dtypes_are_kept_and_bfloat16_widens_exactly():
    rng = np.random.default_rng(3)
    for dtype in ("float16", "float32", "float64"):
        w = refgru.GRUWeights.from_keras(random_weights(rng, 2, 2, dtype=dtype))
        back = refgru.GRUWeights.from_torch(convert.torch_module(w))
        same(f"{dtype} round trip", back.to_keras(), w.to_keras())
    module = torch.nn.GRU(2, 2).to(torch.bfloat16)
    back = refgru.GRUWeights.from_torch(module)
    assert back.dtype == np.float32
    narrowed = torch.from_numpy(back.to_torch()["weight_ih_l0"]).to(torch.bfloat16)
    assert torch.equal(narrowed, module.weight_ih_l0.detach())


def test_no_bias_gives_no_bias_keys_and_keras_use_bias_false():
    rng = np.random.default_rng(4)
    weights = random_weights(rng, 3, 2, use_bias=False)
    w = refgru.GRUWeights.from_keras(weights)
    assert sorted(w.to_torch()) == ["weight_hh_l0", "weight_ih_l0"]
    module = convert.torch_module(w)
    assert module.bias is False
    back = refgru.GRUWeights.from_torch(module)
    assert back.bias is None and back.reset_after
    with pytest.raises(RuntimeError, match="Missing key"):  # what torch says for nn.GRU(bias=True)
        load(w.to_torch(), 3, 2, "float32")


def test_bad_torch_inputs_are_refused():
    rng = np.random.default_rng(6)
    w = refgru.GRUWeights.from_keras(random_weights(rng, 3, 2))
    state = w.to_torch()
    raises("module_or_state_dict: expected a torch.nn.GRU|got a torch LSTM", convert.from_torch, torch.nn.LSTM(3, 2))
    raises("module_or_state_dict: expected a torch.nn.GRU or its state_dict()|got 3", convert.from_torch, 3)
    raises("expected the parameters of one nn.GRU|got no key ending in 'weight_ih_l0'", convert.from_torch, {"x": 1})
    raises("expected a parameter 'weight_ih_l1'|got keys", convert.from_torch, state, layer=1)
    raises("expected a parameter 'weight_ih_l0_reverse'", convert.from_torch, state, direction="reverse")
    raises("expected both 'bias_ih_l0' and 'bias_hh_l0' or neither", convert.from_torch,
           {k: v for k, v in state.items() if k != "bias_hh_l0"})
    raises("weight_hh_l0: expected shape (3u, u) of a GRU (an LSTM has 4u rows)", convert.from_torch,
           {**state, "weight_hh_l0": np.zeros((8, 2), np.float32)})
    raises("weight_ih_l0: expected shape (6, input_dim) for hidden_size=2", convert.from_torch,
           {**state, "weight_ih_l0": np.zeros((5, 3), np.float32)})
    raises("weight_ih_l0: expected a floating-point tensor or array|int64", convert.from_torch,
           {**state, "weight_ih_l0": np.zeros((6, 3), np.int64)})
    raises("weights: expected a non-empty list of GRUWeights of even length", convert.to_torch_state_dict, [w],
           bidirectional=True)
    raises("weights[1]: expected input_dim=2 like the stack", convert.to_torch_state_dict, [w, w])
