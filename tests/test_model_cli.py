"""``refgru predict`` and ``refgru summary``, run as a user would: in a subprocess without TensorFlow.

The model files are written with h5py alone (``model_legacy.write_h5``), so these tests need no Keras;
the numbers of such files against Keras are pinned in test_model_zoo.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("h5py")

import model_legacy  # noqa: E402
from model_runs import BLOCKER  # noqa: E402

import refgru  # noqa: E402

RUN_CLI = BLOCKER + "from refgru.cli import main\nraise SystemExit(main(sys.argv[1:]))\n"


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-c", RUN_CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def dense_config(name, units):
    return {
        "class_name": "Dense",
        "config": {"name": name, "trainable": True, "units": units, "activation": "tanh", "use_bias": True},
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A Keras-2-style two-output functional model (GRU with return_state, Dense), its input, and an LSTM file."""
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(7)
    gru = [model_legacy.random(rng, *s) for s in [(3, 6), (2, 6), (2, 6)]]
    dense = [model_legacy.random(rng, 2, 1), model_legacy.random(rng, 1)]
    layers = [
        {
            "class_name": "InputLayer",
            "name": "x",
            "config": {"name": "x", "batch_input_shape": [None, 4, 3], "dtype": "float32"},
            "inbound_nodes": [],
        },
        {
            "class_name": "GRU",
            "name": "gru",
            "config": {"name": "gru", "units": 2, "reset_after": True, "return_state": True},
            "inbound_nodes": [[["x", 0, 0, {}]]],
        },
        {**dense_config("head", 1), "name": "head", "inbound_nodes": [[["gru", 0, 1, {}]]]},
    ]
    config = {
        "class_name": "Functional",
        "config": {
            "name": "two",
            "layers": layers,
            "input_layers": [["x", 0, 0]],
            "output_layers": [["gru", 0, 0], ["head", 0, 0]],
        },
    }
    model = str(d / "two.h5")
    model_legacy.write_h5(
        model,
        config,
        [
            ("x", []),
            (
                "gru",
                [(f"gru/gru_cell/{n}:0", a) for n, a in zip(["kernel", "recurrent_kernel", "bias"], gru, strict=True)],
            ),
            ("head", [("head/kernel:0", dense[0]), ("head/bias:0", dense[1])]),
        ],
        "2.21.0",
    )
    x = rng.normal(size=(3, 4, 3)).astype("float32")
    np.save(d / "x.npy", x)
    np.save(d / "wide.npy", np.zeros((3, 4, 5), "float32"))
    lstm = {
        "class_name": "Sequential",
        "config": [{"class_name": "LSTM", "config": {"name": "lstm_1", "units": 2, "batch_input_shape": [None, 4, 3]}}],
    }
    model_legacy.write_h5(str(d / "lstm.h5"), lstm, [("lstm_1", [])], "2.1.4")
    (d / "corrupt.keras").write_bytes(b"PK\x03\x04" + bytes(100))
    return d, x


def test_predict_writes_every_output(files):
    d, x = files
    expected = refgru.load_model(d / "two.h5").predict(x)
    assert isinstance(expected, list) and len(expected) == 2
    result = cli("predict", d / "two.h5", d / "x.npy", "-o", d / "out.npz")
    assert result.returncode == 0, result.stderr
    with np.load(d / "out.npz", allow_pickle=False) as out:
        assert list(out.keys()) == ["gru_0", "head_1"]
        assert np.array_equal(out["gru_0"], expected[0]) and np.array_equal(out["head_1"], expected[1])


def test_predict_prints_without_output_file(files):
    d, _ = files
    result = cli("predict", d / "two.h5", d / "x.npy", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert "gru_0 (3, 2) float32" in result.stdout and "head_1 (3, 1) float32" in result.stdout


def test_summary(files):
    d, _ = files
    result = cli("summary", d / "two.h5")
    assert result.returncode == 0, result.stderr
    import h5py

    with h5py.File(d / "two.h5", "r") as f:  # the parameter count, computed from the file's arrays
        sizes = []
        f["model_weights"].visititems(lambda _, obj: sizes.append(obj.size) if isinstance(obj, h5py.Dataset) else None)
    total = f"Total params: {sum(sizes)}"
    for words in ["Model: 'two' (Functional)", "gru (GRU)", "head (Dense)", total, "Keras 2 semantics"]:
        assert words in result.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["predict", "{d}/missing.keras", "{d}/x.npy"], "does not exist"),
        (["summary", "{d}/corrupt.keras"], "damaged or truncated"),
        (["predict", "{d}/lstm.h5", "{d}/x.npy"], "layer 'lstm_1' (LSTM)"),  # summary lists it (issue 14)
        (["predict", "{d}/two.h5", "{d}/no-input.npy"], "INPUT: expected a readable file"),
        (["predict", "{d}/two.h5", "{d}/wide.npy"], "x['x']: expected shape (batch, 4, 3), as the model's input"),
        (
            ["predict", "{d}/two.h5", "{d}/x.npy", "-o", "{d}/one.npy"],
            "OUT: expected an .npz path for a model with 2 outputs",
        ),
    ],
)
def test_errors_are_one_line_and_exit_1(files, args, words):
    d, _ = files
    result = cli(*[a.format(d=d) for a in args])
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("refgru: error: ") and words in lines[0], result.stderr
