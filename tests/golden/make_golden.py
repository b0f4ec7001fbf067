"""Regenerate tests/golden/gru_cases.npz: GRU outputs computed by real Keras 3 and tf-keras.

Run from the repository root:  python tests/golden/make_golden.py
The file lets tests/test_golden.py check refgru (and tests/reference_loop.py) with NumPy alone.

The grid varies every option independently: a seeded subsample of ``itertools.product`` over the nine
booleans (``FLAGS``), and per case a seeded draw of the activations, the shape (1 appears for batch,
time, features and units) and the dtype. ``cases()`` needs only NumPy, so the inputs can be checked
bit for bit without Keras; ``keras_outputs()`` runs Keras. ``coverage_gaps()`` names any required
combination the subsample lacks; ``main()`` refuses to write a file with gaps.
"""

from __future__ import annotations

import itertools
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).parent
PATH = HERE / "gru_cases.npz"
sys.path.insert(0, str(HERE.parent))

from helpers import random_weights  # noqa: E402

SEED = 20261128
N_CASES = 64
FLAGS = ("reset_after", "use_bias", "go_backwards", "return_sequences", "return_state", "zero_output_for_mask",
         "mask", "initial_state", "keras3")
#: (activation, recurrent_activation); the first is Keras's default, computed by refgru's fused path.
ACTIVATION_PAIRS = [("tanh", "sigmoid"), ("tanh", "sigmoid"), ("tanh", "hard_sigmoid"), ("relu", "sigmoid"),
                    ("linear", "hard_sigmoid"), ("softsign", "sigmoid"), ("elu", "hard_sigmoid"),
                    ("hard_sigmoid", "sigmoid"), ("sigmoid", "sigmoid")]
SIZES = {"batch": [1, 2, 3], "steps": [2, 3, 5, 6], "features": [1, 2, 3], "units": [1, 2, 3, 5]}
MASK_KINDS = ["random", "leading", "trailing", "full_row", "gaps"]


def make_mask(kind: str, rng: np.random.Generator, batch: int, steps: int) -> np.ndarray:
    mask = rng.random((batch, steps)) > 0.4 if kind in ("random", "full_row") else np.ones((batch, steps), bool)
    if kind == "leading":
        mask[:, : rng.integers(1, steps + 1)] = False
    elif kind == "trailing":
        mask[:, steps - rng.integers(1, steps + 1):] = False
    elif kind == "full_row":
        mask[rng.integers(batch)] = False
    elif kind == "gaps":
        mask[:, 1::2] = False
    return mask


def cases():
    """The golden inputs, NumPy only: a list of dicts (keras_version, dtype, config, weights, x, mask, h0)."""
    rng = np.random.default_rng(SEED)
    product = list(itertools.product([False, True], repeat=len(FLAGS)))
    chosen = sorted(rng.choice(len(product), N_CASES, replace=False))
    out = []
    for i, row in enumerate(product[k] for k in chosen):
        flags = dict(zip(FLAGS, row, strict=True))
        activation, recurrent_activation = ACTIVATION_PAIRS[rng.integers(len(ACTIVATION_PAIRS))]
        # In every other block of four cases, one size in turn is 1 (time too); the others are drawn.
        batch, steps, features, units = (1 if i % 8 == k else int(rng.choice(SIZES[n])) for k, n in enumerate(SIZES))
        dtype = "float64" if rng.random() < 0.5 else "float32"
        weights = random_weights(rng, features, units, reset_after=flags["reset_after"], use_bias=flags["use_bias"],
                                 dtype=dtype)
        x = rng.normal(size=(batch, steps, features)).astype(dtype)
        kind = MASK_KINDS[rng.integers(len(MASK_KINDS))] if flags["mask"] else None
        mask = make_mask(kind, rng, batch, steps) if kind else None
        h0 = rng.normal(size=(batch, units)).astype(dtype) if flags["initial_state"] else None
        config = {name: flags[name] for name in FLAGS[:1] + FLAGS[2:6]}
        config.update(activation=activation, recurrent_activation=recurrent_activation)
        out.append({"keras_version": 3 if flags["keras3"] else 2, "dtype": dtype, "config": config,
                    "weights": weights, "x": x, "mask": mask, "mask_kind": kind, "h0": h0})
    return out


def meta(case) -> dict:
    return {"keras_version": case["keras_version"], "dtype": case["dtype"], "config": case["config"],
            "n_weights": len(case["weights"]), "has_mask": case["mask"] is not None, "mask_kind": case["mask_kind"],
            "has_h0": case["h0"] is not None}


def coverage_gaps(metas) -> list[str]:
    """The required combinations that no case in ``metas`` (a list of ``meta()`` dicts) has."""
    def has(pred):
        return any(pred(m, m["config"]) for m in metas)

    fused = lambda c: c["activation"] == "tanh" and c["recurrent_activation"] == "sigmoid"  # noqa: E731
    hard = lambda m, c, v: c["recurrent_activation"] == "hard_sigmoid" and m["keras_version"] == v  # noqa: E731
    required = {
        "mask x default tanh/sigmoid (fused)": lambda m, c: m["has_mask"] and fused(c),
        "mask x default tanh/sigmoid x return_sequences":
            lambda m, c: m["has_mask"] and fused(c) and c["return_sequences"],
        "mask x zero_output_for_mask x return_sequences":
            lambda m, c: m["has_mask"] and c["zero_output_for_mask"] and c["return_sequences"],
        "mask x zero_output_for_mask, last output only":
            lambda m, c: m["has_mask"] and c["zero_output_for_mask"] and not c["return_sequences"],
        "go_backwards x return_sequences": lambda m, c: c["go_backwards"] and c["return_sequences"],
        "go_backwards x mask": lambda m, c: c["go_backwards"] and m["has_mask"],
        "mask x initial_state": lambda m, c: m["has_mask"] and m["has_h0"],
        "reset_after=False x mask": lambda m, c: not c["reset_after"] and m["has_mask"],
        "no bias": lambda m, c: m["n_weights"] == 2,
        "hard_sigmoid gates in Keras 3": lambda m, c: hard(m, c, 3),
        "hard_sigmoid gates in tf-keras": lambda m, c: hard(m, c, 2),
        "float32": lambda m, c: m["dtype"] == "float32",
        "float64": lambda m, c: m["dtype"] == "float64",
    }
    required.update({f"{kind} mask": (lambda m, c, kind=kind: m["mask_kind"] == kind) for kind in MASK_KINDS})
    activations = {a for pair in ACTIVATION_PAIRS for a in pair}
    required.update({f"activation {a}": (lambda m, c, a=a: c["activation"] == a) for a in activations - {"tanh"}})
    return [name for name, pred in required.items() if not has(pred)]


def keras_outputs(case) -> list[np.ndarray]:
    """Run the real Keras GRU on ``case``: ``[output]`` or ``[output, state]``."""
    from keras_ref import keras_gru

    out = keras_gru(case["keras_version"], case["weights"], case["x"], mask=case["mask"], initial_state=case["h0"],
                    dtype=case["dtype"], **case["config"])
    return list(out) if isinstance(out, (list, tuple)) else [out]


def inputs_to_arrays(i: int, case) -> dict[str, np.ndarray]:
    arrays = {f"{i}/meta": np.array(json.dumps(meta(case))), f"{i}/x": case["x"]}
    arrays.update({f"{i}/w{j}": w for j, w in enumerate(case["weights"])})
    if case["mask"] is not None:
        arrays[f"{i}/mask"] = case["mask"]
    if case["h0"] is not None:
        arrays[f"{i}/h0"] = case["h0"]
    return arrays


def main() -> None:
    all_cases = cases()
    gaps = coverage_gaps([meta(c) for c in all_cases])
    if gaps:
        raise SystemExit(f"the subsample lacks {gaps}: change SEED or N_CASES")
    arrays = {}
    for i, case in enumerate(all_cases):
        arrays.update(inputs_to_arrays(i, case))
        arrays.update({f"{i}/out{j}": o for j, o in enumerate(keras_outputs(case))})
    np.savez_compressed(PATH, **arrays)
    print(f"wrote {len(arrays)} arrays for {len(all_cases)} cases to {PATH}")


if __name__ == "__main__":
    main()
