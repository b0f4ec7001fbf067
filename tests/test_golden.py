"""NumPy-only golden tests: Keras outputs stored by tests/golden/make_golden.py (no TensorFlow needed).

- every stored case: refgru equals the Keras numbers;
- the same cases pin the independent loop in ``reference_loop.py`` to Keras;
- the stored grid covers the combinations the review found missing, and each option matters in it;
- ``make_golden.py`` reproduces the file: its inputs bit for bit (NumPy only), its outputs within the
  dtype's tolerance when Keras is installed.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib

import numpy as np
import pytest
import reference_loop
from helpers import TOLERANCE, assert_close, relative_error

import refgru

HERE = pathlib.Path(__file__).parent / "golden"
GOLDEN = np.load(HERE / "gru_cases.npz", allow_pickle=False)
CASES = sorted({int(k.split("/")[0]) for k in GOLDEN.files})


def load_make_golden():
    spec = importlib.util.spec_from_file_location("make_golden", HERE / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stored(i: int) -> dict:
    """Case ``i`` of the file: its meta and the keyword arguments of a GRU call."""
    meta = json.loads(str(GOLDEN[f"{i}/meta"]))
    return {"meta": meta, "x": GOLDEN[f"{i}/x"], "weights": [GOLDEN[f"{i}/w{j}"] for j in range(meta["n_weights"])],
            "mask": GOLDEN[f"{i}/mask"] if meta["has_mask"] else None,
            "h0": GOLDEN[f"{i}/h0"] if meta["has_h0"] else None}


def expected(i: int, meta: dict):
    """The stored Keras output in Keras's structure (tuple in Keras 3, list in tf-keras)."""
    outs = [GOLDEN[f"{i}/out{j}"] for j in range(2 if meta["config"]["return_state"] else 1)]
    if len(outs) == 1:
        return outs[0]
    return tuple(outs) if meta["keras_version"] == 3 else outs


def run(gru, case: dict, **changes):
    meta = case["meta"]
    options = {**meta["config"], "mask": case["mask"], "initial_state": case["h0"], **changes}
    return gru(case["x"], case["weights"], keras_version=meta["keras_version"], **options)


@pytest.mark.parametrize("i", CASES)
def test_golden_case(i):
    case = stored(i)
    assert_close(f"golden case {i} {case['meta']}", run(refgru.gru, case), expected(i, case["meta"]))


def test_reference_loop_reproduces_keras():
    """The independent loop (imports nothing from refgru) gives Keras's numbers on every stored case."""
    for i in CASES:
        case = stored(i)
        assert_close(f"reference_loop, golden case {i} {case['meta']}", run(reference_loop.gru, case),
                     expected(i, case["meta"]))


def test_grid_covers_the_combinations_and_every_size_one():
    """mask x fused path, mask x zero_output_for_mask, go_backwards x return_sequences, ... all stored."""
    metas = [stored(i)["meta"] for i in CASES]
    assert load_make_golden().coverage_gaps(metas) == []
    shapes = [GOLDEN[f"{i}/x"].shape + (GOLDEN[f"{i}/w1"].shape[0],) for i in CASES]
    for axis, name in enumerate(["batch", "time", "features", "units"]):
        sizes = {s[axis] for s in shapes}
        assert 1 in sizes and len(sizes) >= 3, f"{name} sizes {sizes}"
    flags = ["reset_after", "go_backwards", "return_sequences", "return_state", "zero_output_for_mask"]
    for a in flags:  # every pair of flags appears in all four combinations
        for b in flags:
            seen = {(m["config"][a], m["config"][b]) for m in metas}
            assert a == b or len(seen) == 4, f"{a} x {b}: only {seen}"


def changed(case: dict, **changes) -> float:
    """How far the reference output moves when an option changes: shows the option is exercised."""
    def flat(result):
        return list(result) if isinstance(result, (list, tuple)) else [result]

    pairs = zip(flat(run(reference_loop.gru, case)), flat(run(reference_loop.gru, case, **changes)), strict=True)
    return max(float(np.abs(a.astype(float) - b.astype(float)).max()) for a, b in pairs)


def test_the_options_matter_in_the_stored_cases():
    """Not vacuous: in the stored cases the mask, zero_output_for_mask and go_backwards change the numbers."""
    cases = [stored(i) for i in CASES]
    masked = [c for c in cases if c["mask"] is not None and not c["mask"].all()]
    assert len(masked) >= 20
    assert sum(changed(c, mask=None) > 1e-6 for c in masked) >= 0.8 * len(masked)
    zero = [c for c in masked if c["meta"]["config"]["zero_output_for_mask"]]
    assert sum(changed(c, zero_output_for_mask=False) > 1e-6 for c in zero) >= 3
    backwards = [c for c in cases if c["meta"]["config"]["go_backwards"] and c["x"].shape[1] > 1]
    assert sum(changed(c, go_backwards=False) > 1e-6 for c in backwards) >= 0.8 * len(backwards)


def test_make_golden_reproduces_the_inputs_bit_for_bit():
    """NumPy only: the generator's inputs, meta and array names are exactly the committed ones."""
    make_golden = load_make_golden()
    names = set()
    for i, case in enumerate(make_golden.cases()):
        arrays = make_golden.inputs_to_arrays(i, case)
        names |= set(arrays) | {f"{i}/out{j}" for j in range(2 if case["config"]["return_state"] else 1)}
        for key, value in arrays.items():
            assert value.dtype == GOLDEN[key].dtype and np.array_equal(value, GOLDEN[key]), f"{key} differs"
    assert names == set(GOLDEN.files)


def test_make_golden_reproduces_the_keras_outputs(keras_ref):
    """With Keras installed, the generator's Keras outputs equal the committed ones.

    Tolerance: the dtype's (``helpers.TOLERANCE``: 1e-5 relative for float32, 1e-10 for float64),
    because Keras's float32 kernels may round differently on another CPU or TensorFlow build. On the
    machine that wrote the file they are identical.
    """
    make_golden = load_make_golden()
    worst = {}
    for i, case in enumerate(make_golden.cases()):
        for j, out in enumerate(make_golden.keras_outputs(case)):
            key = f"{i}/out{j}"
            err, where = relative_error(out, GOLDEN[key])
            assert out.shape == GOLDEN[key].shape and err <= TOLERANCE[out.dtype], f"{key}: {err:.3g} at {where}"
            worst[case["dtype"]] = max(worst.get(case["dtype"], 0.0), err)
    print(f"max relative difference from the committed file: {worst}")
