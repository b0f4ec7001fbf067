"""``refgru demo``: the seed question's model, explained and run step by step, without TensorFlow.

The model is ``GRU(units=2, input_shape=(3, 1), activation='linear')`` followed by ``Dense(1)``, with
the GRU weights printed in the question (:mod:`refgru.teach.seed_question`). The demo prints the explanation of the
three arrays, the trace of a 3-step input and the Dense prediction. ``--plot out.png`` writes the
gate plot (matplotlib); ``--check`` runs the same model in Keras 3 and tf-keras, when installed, and
prints how far they are from refgru.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import numpy as np

from ..cli.app import HelpFormatter
from . import seed_question as seed
from .explain import explain
from .render import format_array
from .trace import Trace, trace

#: float32 agreement required by ``--check`` (max abs difference).
CHECK_TOLERANCE = 1e-5
#: Keras libraries ``--check`` tries: module name and how to call it.
KERAS_LIBS = (("keras", "Keras 3"), ("tf_keras", "tf-keras (Keras 2)"))
#: The one stderr line of ``demo --check`` when neither Keras is installed (it then exits 1).
NO_KERAS = ("refgru: error: --check needs Keras 3 or tf-keras to compare with, and neither is installed "
            "(pip install keras tensorflow, or pip install '.[keras]' from a refgru checkout)")


def seed_trace() -> Trace:
    """The trace of the seed GRU on ``seed.X`` ``(1, 3, 1)``."""
    return trace(seed.X, seed.WEIGHTS, **seed.CONFIG)


def predict(h: np.ndarray) -> np.ndarray:
    """The seed model's ``Dense(1)`` on the GRU output ``h`` ``(B, 2)``: ``y`` ``(B, 1)``."""
    return h @ seed.DENSE_KERNEL + seed.DENSE_BIAS


def _heading(text: str) -> list[str]:
    return ["", text, "=" * len(text), ""]


def run_demo() -> str:
    """The demo's text: explanation of the three arrays, the 3-step trace and the prediction."""
    tr = seed_trace()
    h = tr.state
    y = predict(h)
    terms = " + ".join(f"({h[0, j]:.6f}) * ({seed.DENSE_KERNEL[j, 0]:g})" for j in range(h.shape[1]))
    lines = [
        "refgru demo: the GRU of the question \"what are the three arrays get_weights() returns for a Keras GRU?\"",
        "",
        "Model: GRU(units=2, input_shape=(3, 1), activation='linear') followed by Dense(1).",
        "model.layers[0].get_weights() returned three arrays: kernel, recurrent_kernel and bias.",
        *_heading("1. What the three arrays are"),
        str(explain(seed.WEIGHTS, **seed.CONFIG)),
        *_heading("2. Running the GRU on a 3-step input, step by step"),
        f"x = {seed.X[0, :, 0].tolist()}: shape {seed.X.shape} = (batch, steps, features); h0 = [0, 0].",
        "",
        tr.table(0),
        *_heading("3. The prediction"),
        f"The GRU's output is the state after the last step: h = {_vec(h[0])}",
        f"Dense(1): y = h @ dense_kernel + dense_bias = {terms} + ({seed.DENSE_BIAS[0]:g}) = {y[0, 0]:.6f}",
        "The question did not print its Dense weights, so the demo uses fixed stand-ins: dense_kernel = "
        f"{format_array(seed.DENSE_KERNEL)}, dense_bias = {format_array(seed.DENSE_BIAS)}.",
        "",
        "Run `refgru demo --check` to compare with Keras, `refgru demo --plot gates.png` to plot the gates.",
    ]
    return "\n".join(lines)


def _vec(v: np.ndarray) -> str:
    return "[" + ", ".join(f"{float(a):.6f}" for a in v) + "]"


def keras_check() -> tuple[list[str], bool | None]:
    """Run the seed model in each installed Keras and compare with refgru.

    Returns the report lines and ``True`` (all agree within :data:`CHECK_TOLERANCE`), ``False`` (some
    disagree) or ``None`` (no Keras is installed).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tr = seed_trace()
    lines, results = [], []
    for module, name in KERAS_LIBS:
        try:
            lib = importlib.import_module(module)
        except ImportError as exc:
            lines.append(f"{name}: not installed ({_first_line(exc)}); skipped")
            continue
        try:
            seq, y = _run_in_keras(lib)
        except Exception as exc:  # a broken Keras install: report it as a failed check, not a traceback
            lines.append(f"{name}: could not run the model ({_first_line(exc)})")
            results.append(False)
            continue
        diffs = {"GRU output at each step (return_sequences)": np.abs(seq - tr.h).max(),
                 "GRU output (final state)": np.abs(seq[:, -1] - tr.state).max(),
                 "Dense prediction y": np.abs(y - predict(tr.state)).max()}
        ok = all(d <= CHECK_TOLERANCE for d in diffs.values())
        results.append(ok)
        verdict = "agrees with refgru" if ok else "DISAGREES with refgru"
        lines.append(f"{name} ({module} {getattr(lib, '__version__', '?')}): {verdict} "
                     f"(max |difference|, tolerance {CHECK_TOLERANCE:g})")
        lines += [f"    {what}: {d:.3g}" for what, d in diffs.items()]
        lines.append(f"    Keras y = {float(y[0, 0]):.7f}, refgru y = {float(predict(tr.state)[0, 0]):.7f}")
    if not results:
        lines.append(NO_KERAS.removeprefix("refgru: error: "))
        return lines, None
    return lines, all(results)


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"


def _run_in_keras(lib) -> tuple[np.ndarray, np.ndarray]:
    """The seed model in ``lib`` (keras or tf_keras): per-step GRU outputs ``(1, 3, 2)`` and ``y`` ``(1, 1)``."""
    gru_layer = lib.layers.GRU(2, activation="linear")
    dense = lib.layers.Dense(1)
    model = lib.Sequential([lib.Input(shape=(3, 1)), gru_layer, dense])
    gru_layer.set_weights(seed.WEIGHTS)
    dense.set_weights([seed.DENSE_KERNEL, seed.DENSE_BIAS])
    y = np.asarray(model(seed.X))
    sequences = lib.layers.GRU(2, activation="linear", return_sequences=True)
    sequences.build((None, 3, 1))
    sequences.set_weights(seed.WEIGHTS)
    return np.asarray(sequences(seed.X)), y


def _main(args) -> int:
    print(run_demo())
    if args.plot:
        seed_trace().plot(args.plot)
        print(f"\nWrote the gate plot (z, r, hh, h over the 3 steps) to {args.plot}")
    if args.check:
        if not any(_installed(module) for module, _ in KERAS_LIBS):
            print(NO_KERAS, file=sys.stderr)
            return 1
        print("\nChecking against Keras (this imports TensorFlow and takes a few seconds)...")
        lines, ok = keras_check()
        print("\n".join(lines))
        return 0 if ok else 1
    return 0


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken parent package
        return False


def register(sub) -> None:
    parser = sub.add_parser("demo", help="explain the seed question's GRU weights and run it step by step",
                            description="Explain the three arrays of the seed question's GRU, trace a 3-step input "
                                        "and print the Dense prediction. Needs only NumPy.",
                            epilog="examples:\n  refgru demo\n  refgru demo --plot gates.png\n"
                                   "  refgru demo --check      compare with Keras 3 and tf-keras (exit 1 without "
                                   "them)", formatter_class=HelpFormatter)
    parser.add_argument("--plot", metavar="PNG", default=None,
                        help="write the gate plot to this file (needs matplotlib)")
    parser.add_argument("--check", action="store_true",
                        help="also run the model in Keras 3 and tf-keras, when installed, and print the agreement")
    parser.set_defaults(func=_main)
