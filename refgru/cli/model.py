"""``refgru predict MODEL INPUT [-o OUT]`` and ``refgru summary MODEL``: saved Keras models without TensorFlow.

``INPUT`` is a ``.npy`` array (one model input), an ``.npz`` with one array per input, keyed by input
layer name, or a ``.csv`` / ``.txt`` with one flattened sequence per line. With ``-o OUT`` (``.npy``,
``.npz`` or ``.csv``) the input is streamed in batches and the output written as it comes, in bounded
memory (:func:`refgru.streaming.predict_file`); without it the outputs are printed in full, and an
input or output too large to print is an error that asks for ``-o``.
"""

from __future__ import annotations

import sys

import numpy as np

from ..datafiles import result_parts
from ..errors import error
from .app import HelpFormatter

#: Output values ``refgru predict`` prints without ``-o``; more is an error asking for ``-o``.
PRINT_VALUES = 100_000
#: Input bytes ``refgru predict`` reads whole without ``-o``.
PRINT_INPUT_BYTES = 64 << 20


def _flat(outputs, names: list[str]) -> dict[str, np.ndarray]:
    return dict(result_parts(outputs, names))  # the names an -o .npz gets


def _too_large(what: str, size: str) -> Exception:
    return error("-o", f"an output file (-o OUT.npy, .npz or .csv) for {what}", got=f"{size}, too many to print")


def _print_outputs(model, args, verbose) -> None:
    from ..datafiles import check_finite
    from ..streaming import is_stateful, open_model_input

    with open_model_input(model, args.input) as reader:
        size = reader.n_rows * sum(int(np.prod(reader.row_shapes[n])) * reader.dtypes[n].itemsize for n in reader.names)
        if size > PRINT_INPUT_BYTES:
            raise _too_large("an input this large", f"{size / 2**20:.0f} MB of input")
        if not reader.n_rows:
            raise error("INPUT", "at least one row (Keras refuses an empty batch too)", got="0 rows")
        x = reader.read_all()
    for name, value in (x.items() if isinstance(x, dict) else [(None, x)]):
        check_finite("INPUT" if name is None else f"INPUT[{name!r}]", value)
    if not is_stateful(model):  # one row tells the size of the outputs (a stateful model would keep its state)
        first = {k: v[:1] for k, v in x.items()} if isinstance(x, dict) else x[:1]
        values = reader.n_rows * sum(v.size for v in _flat(model(first), model.output_names).values())
        if values > PRINT_VALUES:
            raise _too_large(f"more than {PRINT_VALUES} output values", f"{values} values")
    flat = _flat(model.predict(x, batch_size=args.batch_size, verbose=verbose), model.output_names)
    if sum(v.size for v in flat.values()) > PRINT_VALUES:
        raise _too_large(f"more than {PRINT_VALUES} output values", f"{sum(v.size for v in flat.values())} values")
    for name, value in flat.items():
        print(f"{name} {value.shape} {value.dtype}")
        print(np.array2string(value, precision=6, separator=", ", threshold=sys.maxsize))


def _predict(args) -> int:
    from ..model import load_model
    from ..streaming import predict_file

    if args.batch_size is not None and args.batch_size < 1:
        raise error("--batch-size", "a positive number of rows", args.batch_size)
    model = load_model(args.model)
    verbose = 0 if args.quiet else "auto"
    if args.output is None:
        _print_outputs(model, args, verbose)
    else:
        predict_file(model, args.input, args.output, batch_size=args.batch_size, verbose=verbose)
    return 0


def _summary(args) -> int:
    from ..model import load_model

    load_model(args.model, strict=False).summary()  # unsupported layers are listed and marked, not refused
    return 0


PREDICT_EXAMPLES = """examples:
  refgru predict model.keras x.npy                  print the outputs of a small input
  refgru predict model.keras x.npy -o y.npy         stream a large input in bounded memory
  refgru predict model.h5 inputs.npz -o y.npz --batch-size 4096 --quiet
  refgru predict model.keras x.csv -o y.csv         one flattened sequence per line
"""


def register(sub) -> None:
    parser = sub.add_parser(
        "predict", help="run a saved .keras or .h5 model on a .npy/.npz/.csv input with NumPy",
        description="Run a saved Keras model with NumPy, as Keras's model.predict. With -o, the input is read "
                    "in chunks and the outputs written as they come, so memory stays bounded whatever the number "
                    "of rows; a progress bar shows on stderr when it is a terminal. NaN or inf inputs are refused, "
                    "naming the rows.",
        epilog=PREDICT_EXAMPLES, formatter_class=HelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="a .keras or legacy .h5 file saved by Keras 3 or tf-keras")
    parser.add_argument("input", metavar="INPUT", help=".npy (one input), .npz (one array per input layer name), "
                        "or .csv/.txt (one flattened sequence per line)")
    parser.add_argument("-o", "--output", metavar="OUT", help="write .npy (one output), .npz or .csv, streamed; "
                        "default: print the outputs (small ones only)")
    parser.add_argument("--batch-size", type=int, default=None, metavar="N",
                        help="rows per batch (default: as many as fit a 128 MB memory budget; a stateful model "
                             "needs the batch size it was built with)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_predict)
    parser = sub.add_parser("summary", help="list the layers, parameters and options of a saved model",
                            description="List the layers of a saved Keras model with their parameters, inputs "
                                        "and options, as Keras's model.summary(), without TensorFlow.",
                            epilog="example:\n  refgru summary model.keras",
                            formatter_class=HelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="a .keras or legacy .h5 file")
    parser.set_defaults(func=_summary)


__all__ = ["register"]
