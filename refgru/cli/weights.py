"""``refgru weights MODEL [--layer NAME] -o gru.npz``, and the readers of weights that ``explain``/``trace`` share.

A weights file written here holds the layer's ``get_weights()`` arrays (``arr_0, arr_1(, arr_2)``, as
``np.savez(path, *weights)`` writes them) and its options as JSON text in one more array,
``refgru_options`` (a NumPy unicode string: no pickle). The JSON is read back safely: at most
:data:`MAX_OPTIONS_BYTES`, a flat object whose keys are in :data:`OPTION_TYPES` and whose values have
the listed types; anything else is a one-line error. ``refgru explain gru.npz`` then needs no flags.

Printed weights (``--text``) are parsed by :func:`refgru.weights_from_text`: Keras's ``get_weights()``
list, or torch's ``parameters()`` list / ``state_dict`` (converted with ``GRUWeights.from_torch``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..errors import error, quote
from .io import WEIGHT_KEYS, load_weights_npz, read_npz

#: The archive member that holds the options.
OPTIONS_KEY = "refgru_options"
#: The longest options JSON read, in bytes (a real one is about 300).
MAX_OPTIONS_BYTES = 4096
_NAME = (str, 64)
#: The only keys an options JSON may hold, with the type of their values (``(str, n)``: at most n characters).
OPTION_TYPES = {"label": (str, 300), "units": int, "activation": _NAME, "recurrent_activation": _NAME,
                "keras_version": int, "reset_after": bool, "use_bias": bool, "return_sequences": bool,
                "return_state": bool, "go_backwards": bool, "stateful": bool, "zero_output_for_mask": bool}
#: The options of a stored layer that change what ``explain`` and ``trace`` compute.
EXPLAIN_OPTIONS = ("activation", "recurrent_activation", "reset_after", "keras_version")
TRACE_OPTIONS = (*EXPLAIN_OPTIONS, "go_backwards", "zero_output_for_mask")
#: torch's parameter names, in the order ``gru.parameters()`` prints them.
TORCH_NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def parse_options(text: str, argument: str) -> dict:
    """The options JSON of a weights file: bounded, a flat object of allow-listed keys and typed values."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_OPTIONS_BYTES:
        raise error(argument, f"{OPTIONS_KEY} JSON of at most {MAX_OPTIONS_BYTES} bytes", got=f"{len(text)} characters")
    try:
        data = json.loads(text, parse_constant=lambda c: None)
    except (ValueError, RecursionError) as exc:
        raise error(argument, f"{OPTIONS_KEY} holding a JSON object", got=f"invalid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise error(argument, f"{OPTIONS_KEY} holding a JSON object", got=f"a JSON {type(data).__name__}")
    for key, value in data.items():
        if key not in OPTION_TYPES:
            raise error(argument, f"{OPTIONS_KEY} keys among {', '.join(OPTION_TYPES)}", got=quote(key))
        kind, limit = OPTION_TYPES[key] if isinstance(OPTION_TYPES[key], tuple) else (OPTION_TYPES[key], None)
        if type(value) is not kind or (limit is not None and len(value) > limit):
            shown = f"a {kind.__name__}" + (f" of at most {limit} characters" if limit else "")
            raise error(f"{argument} {OPTIONS_KEY}[{key!r}]", shown, value)
    if data.get("keras_version", 3) not in (2, 3):
        raise error(f"{argument} {OPTIONS_KEY}['keras_version']", "2 or 3", data["keras_version"])
    return data


def load_weights_file(path: str, argument: str = "FILE") -> tuple[list[np.ndarray], dict | None]:
    """``(get_weights() arrays, options or None)`` from an ``.npz``; options only when the file holds them."""
    if str(path).lower().endswith(".npz"):
        with read_npz(argument, path) as archive:
            has_options = OPTIONS_KEY in archive.files
            if has_options:
                info = archive.zip.getinfo(f"{OPTIONS_KEY}.npy")
                if info.file_size > MAX_OPTIONS_BYTES * 4 + 256:  # UTF-32 in the .npy, plus its header
                    raise error(argument, f"{OPTIONS_KEY} of at most {MAX_OPTIONS_BYTES} characters",
                                got=f"a member of {info.file_size} bytes")
                stored = archive[OPTIONS_KEY]
                if stored.dtype.kind != "U" or stored.shape != ():
                    raise error(argument, f"{OPTIONS_KEY} as one JSON string", stored)
                options = parse_options(str(stored), argument)
                keys = set(archive.files) - {OPTIONS_KEY}
                for names in WEIGHT_KEYS:
                    if keys in (set(names), set(names[:2])):
                        return [archive[name] for name in names if name in keys], options
                raise error(argument, f"an .npz with keys {'/'.join(WEIGHT_KEYS[0])} next to {OPTIONS_KEY}",
                            got=f"keys {quote(sorted(keys))}")
    return load_weights_npz(path, argument), None


def write_weights_file(path: str, arrays: list[np.ndarray], options: dict) -> None:
    """``np.savez(path, *arrays, refgru_options=<JSON>)``, the options checked as they are read back."""
    text = json.dumps({k: v for k, v in options.items() if k in OPTION_TYPES}, sort_keys=True)
    parse_options(text, "options")
    np.savez(path, *arrays, **{OPTIONS_KEY: np.array(text)})


def read_text(path: str, argument: str = "--text") -> str:
    """The text of ``path`` (``-``: stdin), at most ``MAX_TEXT_CHARS`` characters read."""
    from ..weights_text import MAX_TEXT_CHARS

    if path == "-":
        text = sys.stdin.read(MAX_TEXT_CHARS + 1)
    else:
        if not Path(path).is_file():
            raise error(argument, "an existing text file or - for stdin",
                        got=f"{quote(path)}, which does not exist or is not a file")
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read(MAX_TEXT_CHARS + 1)
        except UnicodeDecodeError as exc:
            raise error(argument, "a UTF-8 text file",
                        got=f"{quote(path)} ({exc.reason} at byte {exc.start})") from None
    return text


def pasted_weights(parsed) -> tuple[list[tuple[str | None, object]], str]:
    """``([(label, weights)], source)`` from :func:`refgru.weights_from_text` output; source ``keras`` or ``torch``.

    A Keras ``get_weights()`` list (2 or 3 arrays, ``recurrent_kernel (u, 3u)``) stays a list; torch's
    ``parameters()`` (``weight_hh (3u, u)``) and a ``state_dict`` (every layer and direction) become
    :class:`refgru.GRUWeights` through ``GRUWeights.from_torch``.
    """
    from ..convert.torch import from_torch_all
    from ..core.weights import GRUWeights

    if isinstance(parsed, list) and len(parsed) in (2, 4) and all(a.ndim == 2 for a in parsed[:2]) \
            and parsed[1].shape[0] == 3 * parsed[1].shape[1]:
        parsed = dict(zip(TORCH_NAMES, parsed, strict=False))
    if isinstance(parsed, dict):
        layers = from_torch_all(parsed)
        directions = ["", "_reverse"] if any(str(k).endswith("_reverse") for k in parsed) else [""]
        labels = [f"torch l{k}{d}" for k in range(len(layers) // len(directions)) for d in directions]
        weights = [GRUWeights(a.kernel, a.recurrent_kernel, a.bias, a.reset_after) for a in layers]
        return list(zip(labels, weights, strict=True)), "torch"
    return [(None, parsed)], "keras"


def _run_weights(args) -> int:
    from ..model import load_model
    from ..model.inspect import find_gru

    model = load_model(args.model)
    label, layer = find_gru(model, args.layer, "--layer")
    arrays = [a for a in (layer.w.kernel, layer.w.recurrent_kernel, layer.w.bias) if a is not None]
    write_weights_file(args.output, arrays, {**layer.options(), "label": label})
    shapes = ", ".join(str(a.shape) for a in arrays)
    print(f"wrote {label!r}: get_weights() arrays {shapes} and its options to {args.output} "
          f"(refgru explain {args.output})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("weights", help="save one GRU's get_weights() arrays and options from a model file",
                       description="Write the get_weights() arrays of one GRU of a .keras/.h5 model, with its "
                                   "options as JSON, to an .npz that `refgru explain` and `refgru trace` read "
                                   "without flags.")
    p.add_argument("model", metavar="MODEL", help="a .keras or legacy .h5 model file")
    p.add_argument("--layer", metavar="NAME", default=None,
                   help="the GRU's name (NAME/forward or NAME/backward in a Bidirectional); needed with several GRUs")
    p.add_argument("-o", "--output", metavar="NPZ", required=True, help="the .npz to write")
    p.set_defaults(func=_run_weights)


__all__ = ["EXPLAIN_OPTIONS", "OPTIONS_KEY", "OPTION_TYPES", "TRACE_OPTIONS", "load_weights_file", "parse_options",
           "pasted_weights", "read_text", "register", "write_weights_file"]
