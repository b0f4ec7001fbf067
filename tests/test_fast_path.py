"""The fused tanh/sigmoid kernel (refgru/core/fused.py) against the readable cell() kernel, through the SAME driver.

Both kernels run under :func:`refgru.core.sequence.run`, which alone applies the mask, direction and
output rules, so this file compares only the step math (the rules are tested against Keras elsewhere).

What is asserted, and why not bitwise: the fused kernel computes the same formulas as ``cell()`` but
(1) its sigmoid is ``1 / (1 + exp(-a))`` for every ``a``, while refgru's uses ``e / (1 + e)`` with
``e = exp(a)`` for ``a < 0`` (both round correctly to within an ulp or two of the true value), (2) its
fused matmuls add the biases and the input part in another order than ``x_proj + (h_tm1 @ U + rb)``,
(3) ``h`` is formed as ``h_tm1 / e_z + hh / e_z'`` or ``hh + (h_tm1 - hh) / e_z``. Each step therefore
differs by a few ``eps`` (machine epsilon of the dtype) relative to ``max(1, |h|)``, and a GRU with
these weights (tests/helpers.py ``random_weights``, |w| <= 0.6) carries such a difference along without
blowing it up. Measured over 3000 random cases: at most 3.6 eps per step. We assert, at every output
step t (0-based, in processing order)::

    |fast - reference| <= 8 * (t + 1) * eps * max(1, |reference|)

so an error in the fused kernel (a wrong gate, a state the driver's carry does not reach: differences of
order 1e-2..1) cannot hide.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import MASK_KINDS, make_mask, random_weights
from hypothesis import given, settings
from hypothesis import strategies as st

import refgru
from refgru.core import api, columns, fused
from refgru.core.activations import sigmoid
from refgru.core.cell import CellKernel
from refgru.core.masking import make_schedule
from refgru.core.sequence import run

ULPS_PER_STEP = 8


#: (fuse_inputs, in_step): the fused row layout, and the column layout with x_t in the step matmul or not.
LAYOUTS = [(True, None), (False, True), (False, False)]


def run_both(x, w, h0, mask, go_backwards, return_sequences, zero_output_for_mask, **tuning):
    """``(fused (output, state), cell (output, state))``: both kernels through the one driver."""
    schedule = make_schedule(x, mask, go_backwards=go_backwards, return_sequences=return_sequences,
                             zero_output_for_mask=zero_output_for_mask)
    chunk = tuning.get("chunk_elements", 1 << 20)
    out_f, (state_f,) = run(schedule, fused.FusedKernel(w, h0.dtype, **tuning), (h0,))
    out_c, (state_c,) = run(schedule, CellKernel(w, np.tanh, sigmoid, chunk_elements=chunk), (h0,))
    return (out_f, state_f), (out_c, state_c)


def assert_fast_close(name, actual, expected, steps_done):
    """``steps_done``: broadcastable count of steps behind each element (t + 1)."""
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != {expected.dtype}"
    eps = np.finfo(expected.dtype).eps
    bound = ULPS_PER_STEP * steps_done * eps * np.maximum(1, np.abs(expected))
    excess = np.abs(actual - expected) / bound
    worst = float(excess.max()) if excess.size else 0.0
    assert worst <= 1, (f"{name}: differs from the cell() loop by {worst:.3g} x the bound {ULPS_PER_STEP} eps per step "
                        f"at {np.unravel_index(np.argmax(excess), excess.shape)}")


@st.composite
def cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, steps = draw(st.integers(1, 3)), draw(st.integers(1, 7))
    features, units = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    reset_after, use_bias = draw(st.booleans()), draw(st.booleans())
    dtype = draw(st.sampled_from(["float32", "float64"]))
    w = refgru.GRUWeights.from_keras(random_weights(rng, features, units, reset_after=reset_after,
                                                    use_bias=use_bias, dtype=dtype))
    x = rng.normal(size=(batch, steps, features)).astype(dtype)
    h0 = rng.normal(size=(batch, units)).astype(dtype) if draw(st.booleans()) else np.zeros((batch, units), dtype)
    mask = make_mask(draw(st.sampled_from(MASK_KINDS)), rng, batch, steps)
    options = {"go_backwards": draw(st.booleans()), "return_sequences": draw(st.booleans()),
               "zero_output_for_mask": draw(st.booleans())}
    # Every loop layout (rows, columns with x_t in the step matmul or projected per chunk, or chosen by size),
    # and chunks from one step to all of them (chunk boundaries inside the sequence).
    layout = st.sampled_from([True, False, None])
    tuning = {"fuse_inputs": draw(layout), "in_step": draw(layout), "chunk_elements": draw(st.integers(1, 400))}
    return x, w, h0, mask, options, tuning


@settings(max_examples=150)
@given(cases())
def test_fused_kernel_equals_cell_kernel(case):
    """Both variants, no bias, masks (tests/helpers.py MASK_KINDS: gaps, leading, trailing, fully masked rows),
    go_backwards, zero_output_for_mask, return_sequences, float32/float64, every size from 1, every layout and
    any chunking."""
    x, w, h0, mask, options, tuning = case
    (output, state), (ref_output, ref_state) = run_both(x, w, h0, mask, **options, **tuning)
    steps = x.shape[1]
    steps_done = np.arange(1, steps + 1)[None, :, None] if options["return_sequences"] else steps
    assert_fast_close(f"output {options} {tuning}", output, ref_output, steps_done)
    assert_fast_close(f"state {options} {tuning}", state, ref_state, steps)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("fuse_inputs, in_step", LAYOUTS)
def test_saturated_gates_no_warnings(reset_after, fuse_inputs, in_step):
    """Pre-activations of +-1e4: exp(-a) overflows to inf inside the fast sigmoid, which must still give
    exactly 0 or 1 with no RuntimeWarning leaking out, and equal the cell() loop."""
    rng = np.random.default_rng(1)
    w = refgru.GRUWeights.from_keras(random_weights(rng, 3, 4, reset_after=reset_after, scale=50.0))
    x = (rng.normal(size=(2, 6, 3)) * 200).astype(np.float32)
    h0 = np.zeros((2, 4), np.float32)
    with warnings.catch_warnings(), np.errstate(all="warn"):
        warnings.simplefilter("error")
        schedule = make_schedule(x, None, go_backwards=False, return_sequences=True, zero_output_for_mask=False)
        kernel = fused.FusedKernel(w, h0.dtype, fuse_inputs=fuse_inputs, in_step=in_step)
        output, (state,) = run(schedule, kernel, (h0,))
    _, (ref_output, ref_state) = run_both(x, w, h0, None, False, True, False, fuse_inputs=fuse_inputs,
                                          in_step=in_step)
    assert np.isfinite(output).all()
    assert_fast_close("saturated output", output, ref_output, np.arange(1, 7)[None, :, None])
    assert_fast_close("saturated state", state, ref_state, 6)


class _DtypeSpy:
    """Stands in for ``numpy`` in refgru.core.fused and .columns; records the dtype of every array each call touches."""

    WATCHED = ("dot", "matmul", "add", "subtract", "divide", "exp", "tanh", "copyto", "empty", "zeros", "ones_like")

    def __init__(self):
        self.seen: dict[str, set[str]] = {}

    def __getattr__(self, name):
        target = getattr(np, name)
        if name not in self.WATCHED:
            return target

        def spy(*args, **kwargs):
            result = target(*args, **kwargs)
            arrays = [a for a in (*args, *kwargs.values(), result) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
            self.seen.setdefault(name, set()).update(str(a.dtype) for a in arrays)
            return result

        return spy


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("fuse_inputs, in_step", LAYOUTS)
def test_float32_stays_float32(monkeypatch, reset_after, fuse_inputs, in_step):
    """No silent upcast: every float array that any NumPy call of the fast loop reads, writes or allocates
    is float32, so are the fused weights, and so are the results."""
    rng = np.random.default_rng(2)
    w = refgru.GRUWeights.from_keras(random_weights(rng, 3, 4, reset_after=reset_after))
    f = fused.fuse(w, np.dtype(np.float32), fuse_inputs, in_step)
    for name in ("step_kernel", "input_kernel", "input_bias", "candidate_kernel"):
        array = getattr(f, name)
        assert array is None or array.dtype == np.float32, f"{name} is {array.dtype}"
    spy = _DtypeSpy()
    monkeypatch.setattr(fused, "np", spy)
    monkeypatch.setattr(columns, "np", spy)
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    mask = rng.random((2, 5)) > 0.3
    schedule = make_schedule(x, mask, go_backwards=False, return_sequences=True, zero_output_for_mask=False)
    kernel = fused.FusedKernel(w, np.dtype(np.float32), chunk_elements=40, fuse_inputs=fuse_inputs, in_step=in_step)
    output, (state,) = run(schedule, kernel, (np.zeros((2, 4), np.float32),))
    assert output.dtype == state.dtype == np.float32
    assert {"dot", "exp", "tanh", "divide"} <= set(spy.seen)
    upcast = {name: dtypes for name, dtypes in spy.seen.items() if dtypes != {"float32"}}
    assert not upcast, f"float64 arrays inside the float32 loop: {upcast}"


def test_gru_uses_the_fused_kernel_only_for_tanh_sigmoid(monkeypatch):
    """gru() runs tanh/sigmoid (as names, for both Keras versions) with the fused kernel and everything else
    with the cell() kernel; both give the cell() kernel's numbers, and output and state are separate arrays."""
    for version in (2, 3):
        assert api.resolve(keras_version=version).is_tanh_sigmoid
        assert not api.resolve(recurrent_activation="hard_sigmoid", keras_version=version).is_tanh_sigmoid
        assert not api.resolve(activation="relu", keras_version=version).is_tanh_sigmoid
    kernels = []
    real = api.kernel_for
    monkeypatch.setattr(api, "kernel_for", lambda p: kernels.append(type(real(p))) or real(p))
    rng = np.random.default_rng(3)
    weights = random_weights(rng, 3, 4)
    x = rng.normal(size=(2, 6, 3)).astype(np.float32)
    output, state = refgru.gru(x, weights, return_state=True)
    assert kernels == [fused.FusedKernel] and output is not state and not np.shares_memory(output, state)
    h0 = np.zeros((2, 4), np.float32)
    _, (ref_output, ref_state) = run_both(x, refgru.GRUWeights.from_keras(weights), h0, None, False, False, False)
    assert_fast_close("gru() output", output, ref_output, 6)
    refgru.gru(x, weights, recurrent_activation="hard_sigmoid")
    assert kernels[1:] == [CellKernel]


def test_fused_weights_are_cached_per_weights_and_dtype():
    """fuse() runs once per (GRUWeights, dtype, layout), not on every call."""
    w = refgru.GRUWeights.from_keras(random_weights(np.random.default_rng(4), 2, 3))
    a = fused.fused_weights(w, np.dtype("float32"), True)
    assert fused.fused_weights(w, np.dtype("float32"), True) is a
    assert fused.fused_weights(w, np.dtype("float64"), True) is not a
    assert fused.fused_weights(w, np.dtype("float32"), False).fuse_inputs is False
    by_size = columns.inputs_in_step(w.input_dim, w.units)  # the layout chosen by size is one cache entry
    f32 = np.dtype("float32")
    assert fused.fused_weights(w, f32, False, by_size) is fused.fused_weights(w, f32, False)
    assert fused.fused_weights(w, f32, True, not by_size) is a  # in_step means nothing for the row layout


def test_column_layout_puts_inputs_in_the_step_matmul_by_size():
    """``columns.inputs_in_step``: x_t rides in the step matmul for 4 * input_dim <= units <= 256."""
    rng = np.random.default_rng(6)
    for (d, u), in_step in {(2, 8): True, (3, 8): False, (64, 256): True, (8, 512): False}.items():
        f = fused.fused_weights(refgru.GRUWeights.from_keras(random_weights(rng, d, u)), np.dtype("float32"), False)
        assert (f.input_bias is None) is in_step and f.step_kernel.shape[1] == u + 1 + d * in_step, (d, u)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("fuse_inputs, in_step", LAYOUTS)
def test_whole_sequence_call_equals_cell_kernel(monkeypatch, masked, return_sequences, fuse_inputs, in_step):
    """Without a mask the driver calls ``FusedKernel.sequence`` (outputs copied per chunk, here chunks of a
    few steps) instead of iterating ``steps``; with a mask it iterates. Both give the cell() loop's numbers
    within ULPS_PER_STEP eps per step."""
    calls = []
    real = fused.FusedKernel.sequence
    monkeypatch.setattr(fused.FusedKernel, "sequence", lambda self, *a: calls.append(1) or real(self, *a))
    rng = np.random.default_rng(5)
    w = refgru.GRUWeights.from_keras(random_weights(rng, 3, 4))
    x = rng.normal(size=(5, 9, 3)).astype(np.float32)
    h0 = rng.normal(size=(5, 4)).astype(np.float32)
    mask = make_mask("gaps", rng, 5, 9) if masked else None
    (output, state), (ref_output, ref_state) = run_both(x, w, h0, mask, True, return_sequences, False,
                                                        chunk_elements=120, fuse_inputs=fuse_inputs, in_step=in_step)
    assert calls == ([] if masked else [1])
    steps_done = np.arange(1, 10)[None, :, None] if return_sequences else 9
    assert_fast_close("output", output, ref_output, steps_done)
    assert_fast_close("state", state, ref_state, 9)
    assert not np.shares_memory(output, state)
