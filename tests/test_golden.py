"""NumPy-only golden tests: Keras outputs stored by tests/golden/make_golden.py (no TensorFlow needed)."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from helpers import assert_close

import refgru

GOLDEN = np.load(pathlib.Path(__file__).parent / "golden" / "gru_cases.npz", allow_pickle=False)
CASES = sorted({int(k.split("/")[0]) for k in GOLDEN.files})


@pytest.mark.parametrize("i", CASES)
def test_golden_case(i):
    meta = json.loads(str(GOLDEN[f"{i}/meta"]))
    weights = [GOLDEN[f"{i}/w{j}"] for j in range(meta["n_weights"])]
    mask = GOLDEN[f"{i}/mask"] if meta["has_mask"] else None
    h0 = GOLDEN[f"{i}/h0"] if meta["has_h0"] else None
    actual = refgru.gru(GOLDEN[f"{i}/x"], weights, mask=mask, initial_state=h0, keras_version=meta["keras_version"], **meta["config"])
    outs = [GOLDEN[f"{i}/out{j}"] for j in range(2 if meta["config"].get("return_state") else 1)]
    expected = (tuple(outs) if meta["keras_version"] == 3 else outs) if len(outs) == 2 else outs[0]
    assert_close(f"golden case {i} {meta}", actual, expected)
