"""Regenerate tests/golden/gru_cases.npz: GRU outputs computed by real Keras 3 and tf-keras.

Run from the repository root:  python tests/golden/make_golden.py
The file lets tests/test_golden.py check refgru with NumPy alone (no TensorFlow installed).
"""

from __future__ import annotations

import itertools
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from helpers import random_weights  # noqa: E402
from keras_ref import keras_gru  # noqa: E402


def cases():
    """A grid over the options, each with its own seed: (keras_version, dtype, config, extras)."""
    rng = np.random.default_rng(20261128)
    grid = itertools.product([3, 2], [True, False], ["mask", "none"], [False, True])
    for i, (version, reset_after, masked, go_backwards) in enumerate(grid):
        dtype = "float64" if i % 3 == 0 else "float32"
        use_bias = i % 5 != 4
        weights = random_weights(rng, 3, 4, reset_after=reset_after, use_bias=use_bias, dtype=dtype)
        x = rng.normal(size=(3, 6, 3)).astype(dtype)
        mask = None
        if masked == "mask":
            mask = rng.random((3, 6)) > 0.35
            mask[0] = False
        config = {"reset_after": reset_after, "go_backwards": go_backwards, "return_sequences": i % 2 == 0,
                  "return_state": True, "recurrent_activation": "hard_sigmoid" if i % 4 < 2 else "sigmoid",
                  "zero_output_for_mask": i % 7 == 3}
        h0 = rng.normal(size=(3, 4)).astype(dtype) if i % 3 == 1 else None
        yield version, dtype, config, weights, x, mask, h0
    # Keras's own style: np.arange inputs and constant weights.
    x = np.arange(12, dtype="float32").reshape(2, 3, 2) / 10
    weights = [np.full((2, 6), 0.1, "float32"), np.full((2, 6), -0.2, "float32"), np.full((2, 6), 0.05, "float32")]
    for version in (3, 2):
        yield version, "float32", {"reset_after": True, "return_sequences": True}, weights, x, None, None


def main() -> None:
    arrays = {}
    for i, (version, dtype, config, weights, x, mask, h0) in enumerate(cases()):
        out = keras_gru(version, weights, x, mask=mask, initial_state=h0, dtype=dtype, **config)
        meta = {"keras_version": version, "dtype": dtype, "config": config, "n_weights": len(weights),
                "has_mask": mask is not None, "has_h0": h0 is not None}
        arrays[f"{i}/meta"] = np.array(json.dumps(meta))
        arrays[f"{i}/x"] = x
        for j, w in enumerate(weights):
            arrays[f"{i}/w{j}"] = w
        if mask is not None:
            arrays[f"{i}/mask"] = mask
        if h0 is not None:
            arrays[f"{i}/h0"] = h0
        outs = out if isinstance(out, (list, tuple)) else [out]
        for j, o in enumerate(outs):
            arrays[f"{i}/out{j}"] = o
    np.savez_compressed(HERE / "gru_cases.npz", **arrays)
    print(f"wrote {len(arrays)} arrays for {i + 1} cases to {HERE / 'gru_cases.npz'}")


if __name__ == "__main__":
    main()
