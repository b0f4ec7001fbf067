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
from .io import load_input_npy, load_weights_npz

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
        model = refgru.load_model(path)
    except ModuleNotFoundError as exc:
        if exc.name != "refgru.model":
            raise
        raise error("FILE", "an .npz file (reading .keras/.h5 needs refgru.model, missing in this install)",
                    got=quote(path)) from None
    layers = model.gru_layers()
    if not layers:
        raise error("FILE", "a model with at least one GRU layer", got=f"{quote(path)}, which has none")
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


def _run_explain(args) -> int:
    from ..teach.explain import explain

    if args.file.lower().endswith(MODEL_SUFFIXES):
        explanations = _explain_model(args.file, args)
    else:
        explanations = [explain(load_weights_npz(args.file), **_config(args))]
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


def _run_trace(args) -> int:
    from ..teach.trace import trace

    if args.weights.lower().endswith(MODEL_SUFFIXES):
        raise error("WEIGHTS", "an .npz of the get_weights() arrays (use `refgru explain` for model files)",
                    got=quote(args.weights))
    weights = load_weights_npz(args.weights, "WEIGHTS")
    x = load_input_npy(args.x, "X")
    if x.dtype.kind not in "biuf" or x.ndim not in (2, 3):
        raise error("X", "a numeric array of shape (T, input_dim) or (B, T, input_dim)", x)
    tr = trace(x, weights, **_config(args))
    if args.sequence is not None and not 0 <= args.sequence < tr.batch:
        raise error("--sequence", f"an index in [0, {tr.batch})", args.sequence)
    chosen = range(tr.batch) if args.sequence is None else [args.sequence]
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
    p.add_argument("file", metavar="FILE", help=".npz of the get_weights() arrays (np.savez), or a .keras/.h5 model")
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
    p.add_argument("x", metavar="X", help=".npy input, shape (T, input_dim) or (B, T, input_dim)")
    p.add_argument("weights", metavar="WEIGHTS", help=".npz of the get_weights() arrays (np.savez)")
    _layer_options(p)
    p.add_argument("--sequence", type=int, default=None, help="print only this sequence of a batch")
    p.add_argument("--parts", action="store_true", help="also show the input parts x_* and recurrent parts rec_*")
    p.add_argument("--plot", metavar="PNG", default=None, help="also write a plot of the gates (needs matplotlib)")
    p.set_defaults(func=_run_trace)


__all__ = ["MODEL_SUFFIXES", "print_table", "register"]
