"""Running the model zoo: the Keras side (build, save, record) and the NumPy side (a TF-free process).

``python model_runs.py DIR GROUP LIB:MODEL...`` is one builder process: it builds its share of
``model_zoo.ZOO`` (and, for ``legacy:all``, the ``model_legacy`` files), saves them, and stores Keras's
results. :func:`numpy_side` runs in a subprocess that starts with :data:`BLOCKER`, so importing
TensorFlow or either Keras raises ImportError there; it loads every file with refgru and runs the same
steps. Steps are ``("predict", x)``, ``("predict", x, batch_size)`` or ``("reset",)``.
"""

from __future__ import annotations

import os

import numpy as np
from model_zoo import FORMATS, ZOO, save

BLOCKED = ("tensorflow", "keras", "tf_keras")
#: Prepended to the NumPy-side subprocess: importing TensorFlow or either Keras raises ImportError.
BLOCKER = """
import sys
class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("blocked in the NumPy-only test process: " + name)
        return None
sys.meta_path.insert(0, _Blocker())
""".format(blocked=BLOCKED)


def flatten(obj, prefix="", leaves=None):
    """``(signature, leaves)``: the container structure as text (``list[array,array]``) and the arrays."""
    leaves = {} if leaves is None else leaves
    if isinstance(obj, (list, tuple)):
        sigs = [flatten(v, f"{prefix}{i}.", leaves)[0] for i, v in enumerate(obj)]
        return f"{type(obj).__name__}[{','.join(sigs)}]", leaves
    if isinstance(obj, dict):
        sigs = [f"{k}:{flatten(v, f'{prefix}{k}.', leaves)[0]}" for k, v in obj.items()]
        return "dict{" + ",".join(sigs) + "}", leaves
    leaves[prefix.rstrip(".") or "0"] = np.asarray(obj)
    return "array", leaves


def keras_run(lib, model, steps):
    """Run ``steps`` in Keras: ``model(x)`` (fast) or ``predict`` for stateful models and batch sizes."""
    is_stateful = any(getattr(layer, "stateful", False) for layer in model.layers)
    results = []
    for step in steps:
        if step[0] == "reset":
            for layer in model.layers:
                if getattr(layer, "stateful", False):
                    (layer.reset_states if hasattr(layer, "reset_states") else layer.reset_state)()
            continue
        if is_stateful or len(step) > 2:
            out = model.predict(step[1], batch_size=step[2] if len(step) > 2 else None, verbose=0)
        else:
            out = model(step[1])
        results.append(_numpy(out))
    return results


def _numpy(out):
    if isinstance(out, (list, tuple)):
        return type(out)(_numpy(v) for v in out)
    if isinstance(out, dict):
        return {k: _numpy(v) for k, v in out.items()}
    return np.asarray(out)


def numpy_run(model, steps):
    """Run ``steps`` on a refgru model (the same protocol as :func:`keras_run`)."""
    results = []
    for step in steps:
        if step[0] == "reset":
            model.reset_states()
        else:
            results.append(model.predict(step[1], batch_size=step[2] if len(step) > 2 else None))
    return results


def save_steps(steps, path):
    """Store the steps' inputs in ``path`` (.npz) and return a JSON-able description of the steps."""
    arrays, described = {}, []
    for i, step in enumerate(steps):
        if step[0] == "reset":
            described.append(["reset"])
            continue
        xs = step[1] if isinstance(step[1], list) else [step[1]]
        for j, x in enumerate(xs):
            arrays[f"{i}_{j}"] = np.asarray(x)
        described.append(["predict", [f"{i}_{j}" for j in range(len(xs))], isinstance(step[1], list)] + list(step[2:]))
    np.savez(path, **arrays)
    return described


def load_steps(described, path):
    with np.load(path, allow_pickle=False) as data:
        steps = []
        for d in described:
            if d[0] == "reset":
                steps.append(("reset",))
                continue
            xs = [data[k] for k in d[1]]
            steps.append(("predict", xs if d[2] else xs[0], *d[3:]))
    return steps


def numpy_side(manifest_path, out_path):
    """In the TF-free subprocess: load every job's file with refgru, run its steps, save the results.

    A job is ``{"id", "path", "steps", "inputs"}`` (run and record outputs) or ``{"id", "path",
    "expect_error": true}`` (record the exception's type and message). Results go to ``out_path`` (.npz):
    ``<id>|sig`` (the structure), ``<id>|<step>|<leaf>`` arrays, or ``<id>|error`` text.
    """
    import json
    import sys

    import refgru

    with open(manifest_path) as handle:
        jobs = json.load(handle)
    out = {}
    for job in jobs:
        key = job["id"]
        try:
            model = refgru.load_model(job["path"])
            if job.get("expect_error"):
                out[f"{key}|error"] = np.array("no error")
                continue
            results = numpy_run(model, load_steps(job["steps"], job["inputs"]))
        except Exception as exc:  # recorded; the test decides whether this error was expected
            out[f"{key}|error"] = np.array(f"{type(exc).__name__}: {exc}")
            continue
        sig, leaves = flatten(results)
        out[f"{key}|sig"] = np.array(sig)
        out.update({f"{key}|{name}": value for name, value in leaves.items()})
    leaked = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    out["|leaked_modules"] = np.array(",".join(leaked))
    blocked = []
    for name in BLOCKED:
        try:
            __import__(name)
        except ImportError:
            blocked.append(name)
    out["|blocked"] = np.array(",".join(blocked))
    np.savez(out_path, **out)


def build_zoo(directory, items):
    """Build ``items`` (``(lib_name, model_name)`` pairs), save each in both formats, run Keras.

    Returns ``(jobs, expected)``: ``jobs`` for :func:`numpy_side`, ``expected[id] = (signature, leaves)``.
    """
    import importlib

    jobs, expected = [], {}
    for lib_name, name in items:
        lib = importlib.import_module(lib_name)
        if lib_name == "tf_keras":
            lib.backend.clear_session()  # tf-keras's global graph otherwise slows every later build
        model, steps = ZOO[name](lib, np.random.default_rng(sum(map(ord, lib_name + name))))
        inputs = os.path.join(directory, f"{lib_name}-{name}-inputs.npz")
        described = save_steps(steps, inputs)
        paths = [os.path.join(directory, f"{lib_name}-{name}{ext}") for ext in FORMATS[lib_name]]
        for path in paths:
            save(model, path)
        results = flatten(keras_run(lib, model, steps))
        for path in paths:
            key = f"{lib_name}/{name}{os.path.splitext(path)[1]}"
            expected[key] = results
            jobs.append({"id": key, "path": path, "steps": described, "inputs": inputs})
    return jobs, expected


def write_group(directory, group, jobs, expected):
    """Store a builder's jobs (JSON) and Keras's results (``<id>|sig`` and ``<id>|<leaf>`` in .npz)."""
    import json

    arrays = {}
    for key, (sig, leaves) in expected.items():
        arrays[f"{key}|sig"] = np.array(sig)
        arrays.update({f"{key}|{name}": value for name, value in leaves.items()})
    np.savez(os.path.join(directory, f"{group}-expected.npz"), **arrays)
    with open(os.path.join(directory, f"{group}-jobs.json"), "w") as handle:
        json.dump(jobs, handle)


def main(argv):
    """``python model_runs.py DIR GROUP LIB:MODEL...``: build a share of the zoo (the test fixture runs
    two of these in parallel) plus, for ``LIB:MODEL`` = ``legacy:all``, the hand-made legacy files."""
    directory, group, items = argv[0], argv[1], [a.split(":") for a in argv[2:]]
    jobs, expected = build_zoo(directory, [(lib, name) for lib, name in items if lib != "legacy"])
    if any(lib == "legacy" for lib, _ in items):
        import model_legacy

        more_jobs, more_expected = model_legacy.build_legacy(directory)
        jobs, expected = jobs + more_jobs, {**expected, **more_expected}
    write_group(directory, group, jobs, expected)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
