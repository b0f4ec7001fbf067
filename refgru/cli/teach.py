"""``refgru explain`` and ``refgru trace``: explain a weights file, or print the step table of a run.

Weights files are ``.npz`` archives of the ``get_weights()`` arrays, as ``np.savez("w.npz", *weights)``
writes them (keys ``arr_0, arr_1, arr_2``) or with keys ``kernel, recurrent_kernel, bias``; the bias
is left out for ``use_bias=False``. ``refgru explain`` also reads ``.keras`` and ``.h5`` model files
through :func:`refgru.load_model`. Files are read with ``allow_pickle=False``: no code from a file runs.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import error, quote
from .app import HelpFormatter
from .io import load_input_npy, load_model_input
from .weights import EXPLAIN_OPTIONS, TRACE_OPTIONS, load_weights_file, pasted_weights, read_text

MODEL_SUFFIXES = (".keras", ".h5")


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {quote(text)}")


def _config(args) -> dict:
    """The layer options given on the command line (unset options are left out)."""
    names = ("reset_after", "activation", "recurrent_activation", "keras_version")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _explain_model(path: str, args) -> list:
    import refgru

    given = _config(args)
    if given:
        flag = "--" + next(iter(given)).replace("_", "-")
        raise error(flag, "no layer option with a model file (the file's own config is used)", given[next(iter(given))])
    try:
        model = refgru.load_model(path, strict=False)  # explain every GRU, even beside unsupported layers
    except ModuleNotFoundError as exc:
        if exc.name != "refgru.model":
            raise
        raise error("FILE", "an .npz file (reading .keras/.h5 needs refgru.model, missing in this install)",
                    got=quote(path)) from None
    layers = model.gru_layers()
    if not layers:
        raise error("FILE", "a model with at least one GRU layer", got=f"{quote(path)}, which has none")
    if model.problems:
        print(f"Not explained: {len(model.problems)} layers refgru does not support "
              f"({', '.join(f'{quote(p)} ({quote(c)})' for p, c, _ in model.problems[:20])}"
              f"{' and more' if len(model.problems) > 20 else ''}); every GRU is explained below.\n")
    return [refgru.explain(w, label=label, **_model_config(cfg)) for label, w, cfg in layers]


def _model_config(cfg: dict) -> dict:
    """The explain() options in a layer's config dict; ``keras_version`` may be 2, 3 or a version string."""
    out = {k: cfg[k] for k in ("reset_after", "activation", "recurrent_activation") if k in cfg}
    version = cfg.get("keras_version")
    if isinstance(version, str):
        major = version.split(".")[0]
        version = (3 if int(major) >= 3 else 2) if major.isdigit() else version
    if version is not None:
        out["keras_version"] = version
    return out


def assumed_notice(args, stored: dict | None) -> None:
    """One line on stderr naming the activations assumed for bare arrays (no options stored, none given)."""
    assumed = {name: default for name, default in (("activation", "tanh"), ("recurrent_activation", "sigmoid"))
               if getattr(args, name) is None and name not in (stored or {})}
    if assumed:
        shown = ", ".join(f"{k}={v!r}" for k, v in assumed.items())
        flags = " / ".join(f"--{k.replace('_', '-')} NAME" for k in assumed)
        print(f"refgru: note: assumed {shown} (the arrays do not record them); if the layer used others, pass {flags} "
              "(and --keras-version 2 for a tf-keras hard_sigmoid)", file=sys.stderr)


def _stored_config(args, stored: dict | None, names: tuple[str, ...]) -> dict:
    """The options stored in a weights file (those in ``names``), overridden by the ones given on the command line."""
    picked = {k: v for k, v in (stored or {}).items() if k in names}
    return {**picked, **_model_config(picked), **_config(args)}


def _explain_arrays(args) -> list:
    """The explanations of ``--text`` or of an ``.npz`` (its stored options applied); notes assumed activations."""
    from ..teach.explain import explain

    if args.text is not None:
        if args.file is not None:
            raise error("FILE", "no FILE with --text (the text holds the arrays)", got=quote(args.file))
        from ..weights_text import weights_from_text

        layers, source = pasted_weights(weights_from_text(read_text(args.text)))
        explanations = [explain(w, label=label, **_config(args)) for label, w in layers]
        if source == "keras":  # torch's GRU has no activation options: tanh/sigmoid is not an assumption
            assumed_notice(args, None)
        return explanations
    if args.file is None:
        raise error("FILE", "a weights or model file, or --text FILE|- with printed get_weights() output", got="none")
    arrays, stored = load_weights_file(args.file)
    explanation = explain(arrays, label=(stored or {}).get("label"), **_stored_config(args, stored, EXPLAIN_OPTIONS))
    assumed_notice(args, stored)
    return [explanation]


def _pick_layer(explanations: list, name: str) -> list:
    """The explanations of layer ``name`` (both halves for a Bidirectional's name)."""
    picked = [e for e in explanations if e.label == name or str(e.label).startswith(f"{name}/")]
    if not picked:
        shown = ", ".join(quote(e.label) for e in explanations[:12])
        raise error("--layer", f"the name of a GRU in the model ({shown})", got=quote(name))
    return picked


def _run_explain(args) -> int:
    if args.file is not None and args.text is None and args.file.lower().endswith(MODEL_SUFFIXES):
        explanations = _explain_model(args.file, args)
        if args.layer is not None:
            explanations = _pick_layer(explanations, args.layer)
    else:
        if args.layer is not None:
            raise error("--layer", "a .keras/.h5 model file to pick the layer from", got=quote(args.file or args.text))
        explanations = _explain_arrays(args)
    render = (lambda e: e.to_markdown(args.values)) if args.markdown else (lambda e: e.to_text(args.values))
    print("\n\n".join(render(e) for e in explanations))
    return 0


def print_table(tr, sequence: int, parts: bool) -> None:
    """Print the step table: with rich on a terminal when rich is installed, plain text otherwise."""
    if sys.stdout.isatty():
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            pass
        else:
            header, rows = tr.rows(sequence, parts)
            table = Table(title=tr.table(sequence, parts).splitlines()[0])
            for name in header:
                table.add_column(name, justify="right")
            for row in rows:
                table.add_row(*row)
            console = Console()
            console.print(table)
            console.print("\n".join(tr.legend()), markup=False, highlight=False)
            return
    print(tr.table(sequence, parts))


def _trace_model(path: str, x_path: str, args):
    """The trace of GRU ``--layer`` inside the model at ``path``, on the model input in ``x_path``."""
    from ..model import load_model

    given = _config(args)
    if given:
        flag = "--" + next(iter(given)).replace("_", "-")
        raise error(flag, "no layer option with a model file (the file's own config is used)", given[next(iter(given))])
    from ..model.inspect import find_gru

    model = load_model(path)
    label, _ = find_gru(model, args.layer, "--layer")
    return model.trace(load_model_input(x_path, model.input_names, "X"), layer=label)


def _run_trace(args) -> int:
    from ..teach.trace import trace

    note, stored = False, None
    if args.x.lower().endswith(MODEL_SUFFIXES):  # refgru trace MODEL X.npy --layer NAME
        tr = _trace_model(args.x, args.weights, args)
    else:
        if args.weights.lower().endswith(MODEL_SUFFIXES):
            raise error("WEIGHTS", "an .npz of the get_weights() arrays (for a model file: refgru trace MODEL X.npy)",
                        got=quote(args.weights))
        if args.layer is not None:
            raise error("--layer", "a .keras/.h5 model file first (refgru trace MODEL X.npy --layer NAME)",
                        got=quote(args.x))
        weights, stored = load_weights_file(args.weights, "WEIGHTS")
        x = load_input_npy(args.x, "X")
        if x.dtype.kind not in "biuf" or x.ndim not in (2, 3):
            raise error("X", "a numeric array of shape (T, input_dim) or (B, T, input_dim)", x)
        tr = trace(x, weights, **_stored_config(args, stored, TRACE_OPTIONS))
        note = True
    if args.sequence is not None and not 0 <= args.sequence < tr.batch:
        raise error("--sequence", f"an index in [0, {tr.batch})", args.sequence)
    chosen = range(tr.batch) if args.sequence is None else [args.sequence]
    if note:
        assumed_notice(args, stored)
    for i, b in enumerate(chosen):
        if i:
            print()
        print_table(tr, b, args.parts)
    if args.plot:
        tr.plot(args.plot, sequence=chosen[0])
        print(f"\nwrote the gate plot of sequence {chosen[0]} to {args.plot}")
    return 0


def _layer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reset-after", type=_bool, default=None, metavar="{true,false}",
                        help="the layer's reset_after (default: inferred from the bias shape)")
    parser.add_argument("--activation", default=None, help="candidate activation (default tanh)")
    parser.add_argument("--recurrent-activation", default=None, help="gate activation (default sigmoid)")
    parser.add_argument("--keras-version", type=int, choices=(2, 3), default=None,
                        help="3 = Keras 3 (default), 2 = tf-keras; decides hard_sigmoid")


def register(sub) -> None:
    p = sub.add_parser("explain", help="explain the arrays of GRU.get_weights() in a weights or model file",
                       description="Explain each array of GRU.get_weights(): shapes, named slices, which reset_after "
                                   "variant the shapes imply, which bias row is used where, and the equations.",
                       epilog="examples:\n  refgru explain weights.npz     (np.savez('weights.npz', *w))\n"
                              "  refgru explain model.keras --markdown\n"
                              "  refgru explain weights.npz --reset-after false --values",
                       formatter_class=HelpFormatter)
    p.add_argument("file", metavar="FILE", nargs="?", default=None,
                   help=".npz of the get_weights() arrays (np.savez, or refgru weights), or a .keras/.h5 model")
    p.add_argument("--text", metavar="TEXT", default=None,
                   help="a text file (- for stdin) with what print(layer.get_weights()) or a torch GRU's "
                        "parameters()/state_dict() printed")
    p.add_argument("--layer", metavar="NAME", default=None, help="with a model file: explain only this GRU")
    _layer_options(p)
    p.add_argument("--markdown", action="store_true", help="print Markdown instead of plain text")
    p.add_argument("--values", action=argparse.BooleanOptionalAction, default=None,
                   help="show the numbers of each slice (default: when the arrays are small)")
    p.set_defaults(func=_run_explain)

    p = sub.add_parser("trace", help="print the step-by-step gate table of a GRU run",
                       description="Run a GRU over an input and print a_z, z, a_r, r, a_h, hh and h "
                                   "at each step.",
                       epilog="examples:\n  refgru trace x.npy weights.npz\n"
                              "  refgru trace x.npy weights.npz --sequence 0 --parts --plot gates.png",
                       formatter_class=HelpFormatter)
    p.add_argument("x", metavar="X", help=".npy input, shape (T, input_dim) or (B, T, input_dim); or a .keras/.h5 "
                   "MODEL, then WEIGHTS is the model's input X (.npy, or .npz by input name)")
    p.add_argument("weights", metavar="WEIGHTS", help=".npz of the get_weights() arrays (np.savez, or refgru weights)")
    p.add_argument("--layer", metavar="NAME", default=None,
                   help="with a MODEL: the GRU to trace (NAME/forward or NAME/backward in a Bidirectional)")
    _layer_options(p)
    p.add_argument("--sequence", "--row", dest="sequence", type=int, default=None,
                   help="print only this sequence (row) of a batch")
    p.add_argument("--parts", action="store_true", help="also show the input parts x_* and recurrent parts rec_*")
    p.add_argument("--plot", metavar="PNG", default=None, help="also write a plot of the gates (needs matplotlib)")
    p.set_defaults(func=_run_trace)


__all__ = ["MODEL_SUFFIXES", "assumed_notice", "print_table", "register"]
