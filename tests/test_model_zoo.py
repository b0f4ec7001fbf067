"""``refgru.load_model`` against Keras: every zoo model, legacy file and broken file, in one go.

A session fixture builds the zoo (``model_zoo.ZOO``) in Keras 3 and tf-keras, saves each model as
``.keras`` and ``.h5``, writes the hand-made legacy and broken files (``model_legacy``), and records
Keras's outputs; two builder processes share the work. Then ONE subprocess in which importing
``tensorflow``, ``keras`` or ``tf_keras`` raises ImportError loads every file with refgru and runs the
same steps. Each parametrized test compares one file's numbers and output structure with Keras's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("keras")
pytest.importorskip("tf_keras")
pytest.importorskip("h5py")

import model_legacy  # noqa: E402
import model_runs  # noqa: E402
import model_zoo  # noqa: E402
from helpers import assert_close  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LEGACY_IDS = [f"legacy/{name}" for name in model_legacy.LEGACY]
#: Rough build seconds, to split the work between two builder processes (tf-keras's masked GRUs are slow).
COST = {
    "legacy:all": 13,
    "tf_keras:bidirectional_masked": 10,
    "tf_keras:masking": 6,
    "tf_keras:stateful": 5,
    "tf_keras:masked_merges": 5,
    "tf_keras:initial_state": 4,
    "tf_keras:embedding_mask": 3,
    "tf_keras:text_masked_mean": 4,
    "tf_keras:norm_and_activations": 4,
    "tf_keras:conv1d_options": 3,
    "tf_keras:conv2d_options": 3,
    "keras:norm_and_activations": 2,
    "keras:conv1d_options": 2,
    "keras:conv2d_options": 2,
    "tf_keras:nested_masked": 4,
    "tf_keras:nested_gru": 3,
}


def split_work() -> list[list[str]]:
    """Every ``lib:model`` item and ``legacy:all``, in two groups of about equal cost (longest first)."""
    items = [f"{lib}:{name}" for lib in model_zoo.FORMATS for name in model_zoo.ZOO] + ["legacy:all"]
    cost = {item: COST.get(item, 1.5 if item.startswith("tf_keras") else 0.7) for item in items}
    groups, totals = [[], []], [0.0, 0.0]
    for item in sorted(items, key=cost.get, reverse=True):
        i = totals.index(min(totals))
        groups[i].append(item)
        totals[i] += cost[item]
    return groups


def _start(cmd: list[str], log: str) -> tuple[subprocess.Popen, str]:
    """Start ``cmd`` in tests/ with this checkout's refgru first on the path; output goes to ``log``."""
    path = os.pathsep.join([os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", "PYTHONPATH": path}
    with open(log, "w") as handle:
        return subprocess.Popen(cmd, cwd=HERE, env=env, stdout=handle, stderr=subprocess.STDOUT), log


def _wait(started: tuple[subprocess.Popen, str]) -> None:
    proc, log = started
    if proc.wait(timeout=900):
        with open(log) as handle:
            pytest.fail(f"{' '.join(proc.args[:3])} failed ({proc.returncode}):\n{handle.read()[-4000:]}")


def run_zoo(directory: str, builders: dict[str, list[str]]) -> tuple[dict, dict, list]:
    """Run the Keras-side ``builders`` (``group -> command``, in parallel), then refgru on every file they saved
    in ONE process where TensorFlow and Keras cannot be imported. Returns ``(results, expected, jobs)``."""
    procs = [_start(cmd, os.path.join(directory, f"{group}.log")) for group, cmd in builders.items()]
    for proc in procs:
        _wait(proc)
    jobs, expected = [], {}
    for group in builders:
        with open(os.path.join(directory, f"{group}-jobs.json")) as handle:
            jobs += json.load(handle)
        with np.load(os.path.join(directory, f"{group}-expected.npz"), allow_pickle=False) as data:
            expected.update({k: data[k] for k in data.files})
    manifest, out = os.path.join(directory, "manifest.json"), os.path.join(directory, "numpy.npz")
    with open(manifest, "w") as handle:
        json.dump(jobs, handle)
    code = (
        model_runs.BLOCKER
        + f"sys.path.insert(0, {HERE!r})\nimport model_runs\nmodel_runs.numpy_side({manifest!r}, {out!r})\n"
    )
    _wait(_start([sys.executable, "-c", code], os.path.join(directory, "numpy.log")))
    with np.load(out, allow_pickle=False) as data:
        results = {k: data[k] for k in data.files}
    return results, expected, jobs


def run_split_zoo(directory: str, script: str, groups: list[list[str]]) -> tuple[dict, dict, list]:
    """:func:`run_zoo` with one builder ``script DIRECTORY GROUP ITEM...`` per group of ``lib:model`` items
    (the groups named ``a``, ``b``)."""
    return run_zoo(directory, {group: [sys.executable, script, directory, group, *work]
                               for group, work in zip("ab", groups, strict=True)})


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """``(results, expected, jobs)``: refgru's and Keras's outputs by id, and the job list."""
    directory = str(tmp_path_factory.mktemp("zoo"))
    results, expected, jobs = run_split_zoo(directory, "model_runs.py", split_work())
    return results, expected, {job["id"]: job for job in jobs}, directory


def test_numpy_side_never_imported_tensorflow(zoo):
    results = zoo[0]
    assert str(results["|blocked"]) == ",".join(model_runs.BLOCKED), "the import blocker was not active"
    assert str(results["|leaked_modules"]) == "", f"imported in the NumPy-only process: {results['|leaked_modules']}"


@pytest.mark.parametrize("key", model_zoo.zoo_ids() + LEGACY_IDS)
def test_matches_keras(zoo, key):
    """Numbers (float32 1e-5, float64 1e-10) and output structure equal Keras's for this file."""
    check_against_keras(zoo[0], zoo[1], key)


def check_against_keras(results: dict, expected: dict, key: str) -> list[str]:
    """Assert that refgru's outputs for file ``key`` have Keras's structure and numbers; return the leaf ids."""
    assert f"{key}|sig" in expected, f"{key}: Keras built no expected result"
    assert f"{key}|error" not in results, f"{key}: refgru failed: {results.get(f'{key}|error')}"
    assert str(results[f"{key}|sig"]) == str(expected[f"{key}|sig"]), f"{key}: output structure differs"
    leaves = [k for k in expected if k.startswith(f"{key}|") and not k.endswith("|sig")]
    assert leaves
    for leaf in leaves:
        assert_close(leaf, results[leaf], expected[leaf])
    return leaves


@pytest.mark.parametrize("name", list(model_legacy.ERRORS))
def test_refused_with_refgru_error(zoo, name):
    """Broken, truncated, code-carrying and unsupported files: a RefgruError that says why."""
    message = str(zoo[0][f"error/{name}|error"])
    assert message.startswith("RefgruError: "), message
    for words in model_legacy.ERRORS[name][1]:
        assert words in message, f"{name}: {words!r} not in {message!r}"
    assert "\n" not in message


def test_refused_lambdas_never_ran(zoo):
    """The Lambda bodies touch a marker file when run; Keras ran them while building, refgru never does."""
    for lib in ("keras", "tf_keras"):
        assert not os.path.exists(model_legacy.marker(zoo[3], f"lambda_{lib}"))
