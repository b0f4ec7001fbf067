"""``refgru predict MODEL INPUT [-o OUT]`` and ``refgru summary MODEL``: saved Keras models without TensorFlow.

``INPUT`` is a ``.npy`` array (one model input) or a ``.npz`` with one array per input, keyed by input
layer name (or ``arr_0, arr_1, ...`` in input order). ``OUT`` is a ``.npy`` for a single output or a
``.npz`` keyed by output layer name; without ``-o`` the outputs are printed.
"""

from __future__ import annotations

import numpy as np

from ..errors import error, quote
from .io import load_model_input


def _flat(outputs, names: list[str]) -> dict[str, np.ndarray]:
    if isinstance(outputs, dict):
        return dict(outputs)
    if isinstance(outputs, (list, tuple)):
        return {f"{names[i] if i < len(names) else 'output'}_{i}": np.asarray(o) for i, o in enumerate(outputs)}
    return {names[0] if names else "output": np.asarray(outputs)}


def _predict(args) -> int:
    from ..model import load_model

    model = load_model(args.model)
    x = load_model_input(args.input, model.input_names)
    outputs = model.predict(x, batch_size=args.batch_size)
    flat = _flat(outputs, model.output_names)
    if args.output is None:
        for name, value in flat.items():
            print(f"{name} {value.shape} {value.dtype}")
            print(np.array2string(value, precision=6, separator=", ", threshold=10_000))
    elif args.output.endswith(".npz"):
        np.savez(args.output, **flat)
    elif len(flat) == 1:
        np.save(args.output, next(iter(flat.values())), allow_pickle=False)
    else:
        raise error("-o", f"a .npz path for a model with {len(flat)} outputs", got=quote(args.output))
    return 0


def _summary(args) -> int:
    from ..model import load_model

    load_model(args.model, strict=False).summary()  # unsupported layers are listed and marked, not refused
    return 0


def register(sub) -> None:
    parser = sub.add_parser("predict", help="run a saved .keras or .h5 model on a .npy/.npz input with NumPy")
    parser.add_argument("model", metavar="MODEL", help="a .keras or legacy .h5 file saved by Keras 3 or tf-keras")
    parser.add_argument("input", metavar="INPUT", help=".npy (one input) or .npz (one array per input layer name)")
    parser.add_argument("-o", "--output", metavar="OUT", help="write .npy (one output) or .npz; default: print")
    parser.add_argument("--batch-size", type=int, default=None, help="rows per batch (default: all at once)")
    parser.set_defaults(func=_predict)
    parser = sub.add_parser("summary", help="list the layers, parameters and options of a saved model")
    parser.add_argument("model", metavar="MODEL", help="a .keras or legacy .h5 file")
    parser.set_defaults(func=_summary)


__all__ = ["register"]
