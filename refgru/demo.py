"""``refgru demo``: the seed question's GRU, its weight slices named, and a forward pass."""

from __future__ import annotations

import numpy as np

from . import seed
from .layer import gru
from .weights import GRUWeights


def run_demo() -> str:
    """The demo's text: the seed GRU's slices, and its output on ``seed.X``."""
    w = GRUWeights.from_keras(seed.WEIGHTS)
    lines = [f"Seed question model: GRU(units=2, input_shape=(3, 1), activation='linear') + Dense(1)", repr(w), ""]
    for name, value in w.slices().items():
        shown = "None" if value is None else np.array2string(value, precision=5, separator=", ")
        lines.append(f"{name:5s} {shown}")
    h = gru(seed.X, w, **seed.CONFIG)
    y = h @ seed.DENSE_KERNEL + seed.DENSE_BIAS
    lines += ["", f"x = {seed.X.ravel().tolist()}", f"GRU output h = {h.ravel().tolist()}", f"Dense output y = {y.ravel().tolist()}"]
    return "\n".join(lines)


def _main(args) -> int:
    print(run_demo())
    return 0


def register(sub) -> None:
    parser = sub.add_parser("demo", help="explain the seed question's GRU weights and run it")
    parser.set_defaults(func=_main)
