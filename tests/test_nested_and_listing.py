"""Nested models and the listing of unsupported layers, on files written with h5py alone (no Keras).

The numbers of nested models against Keras are pinned in test_model_zoo.py (``nested_*`` zoo models);
here: the one-line error naming every unsupported layer and class, ``strict=False`` inspection, and
``refgru summary`` / ``refgru explain`` / ``refgru predict`` on such a model in a TF-free subprocess.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import refgru
from refgru.model.config import MAX_MODEL_DEPTH, parse_model_config
from refgru.model.nested import MAX_LISTED

h5py = pytest.importorskip("h5py")

import model_legacy  # noqa: E402
from model_runs import BLOCKER  # noqa: E402

RUN_CLI = BLOCKER + "from refgru.cli import main\nraise SystemExit(main(sys.argv[1:]))\n"
T, F = 5, 3


def cli(*args):
    return subprocess.run([sys.executable, "-c", RUN_CLI, *map(str, args)], capture_output=True, text=True)


def _layer(cls, name, inbound, **config):
    return {"class_name": cls, "name": name, "config": {"name": name, **config}, "inbound_nodes": inbound}


def _gru(name, units, inbound, **config):
    return _layer("GRU", name, inbound, units=units, reset_after=True, **config)


def _arrays(rng, features, units):
    return [rng.normal(size=s).astype("float32") for s in [(features, 3 * units), (units, 3 * units), (2, 3 * units)]]


def _write(path, extra_unsupported=0, bad_class="Bad\nClass", odd=True):
    """A tf-keras-style Functional: x -> nested Sequential 'block' [GRU 'gru_a', ConvLSTM1D 'odd'] ->
    GRU 'top' -> Conv3D 'cube' -> Dense; plus ``extra_unsupported`` Conv3D heads and one ``bad_class``."""
    rng = np.random.default_rng(3)
    block = {"class_name": "Sequential", "config": {"name": "block", "layers": [
        {"class_name": "InputLayer", "config": {"name": "block_in", "batch_input_shape": [None, T, F]}},
        {"class_name": "GRU", "config": {"name": "gru_a", "units": 4, "reset_after": True, "return_sequences": True}},
        {"class_name": "ConvLSTM1D", "config": {"name": "odd", "filters": 2}}][:3 if odd else 2]}}
    layers = [_layer("InputLayer", "x", [], batch_input_shape=[None, T, F]),
              {**block, "name": "block", "inbound_nodes": [[["x", 0, 0, {}]]]},
              _gru("top", 2, [[["block", 1, 0, {}]]]),
              _layer("Conv3D", "cube", [[["top", 0, 0, {}]]], filters=1),
              _layer("Dense", "head", [[["top", 0, 0, {}]]], units=1)]
    layers += [_layer("Conv3D", f"extra_{i}", [[["top", 0, 0, {}]]]) for i in range(extra_unsupported)]
    if bad_class:
        layers.append(_layer(bad_class, "weird", [[["top", 0, 0, {}]]]))
    outputs = [[name, 0, 0] for name in ["head", "cube"] + [f"extra_{i}" for i in range(extra_unsupported)]]
    config = {"class_name": "Functional", "config": {"name": "outer", "layers": layers, "input_layers": [["x", 0, 0]],
                                                     "output_layers": outputs}}
    gru_a, top = _arrays(rng, F, 4), _arrays(rng, 4, 2)
    weights = [("x", []), ("block", [(f"gru_a/gru_cell/{n}:0", a) for n, a in
                                     zip(["kernel", "recurrent_kernel", "bias"], gru_a, strict=True)]),
               ("top", [(f"top/gru_cell/{n}:0", a) for n, a in zip(["kernel", "recurrent_kernel", "bias"], top,
                                                                  strict=True)]),
               ("head", [("head/kernel:0", rng.normal(size=(2, 1)).astype("float32")),
                         ("head/bias:0", rng.normal(size=(1,)).astype("float32"))])]
    model_legacy.write_h5(path, config, weights, "2.15.0")
    return path, gru_a, top


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("listing")
    path, gru_a, top = _write(str(d / "mixed.h5"))
    np.save(d / "x.npy", np.random.default_rng(0).normal(size=(2, T, F)).astype("float32"))
    return {"mixed": path, "huge": _write(str(d / "huge.h5"), extra_unsupported=45)[0], "x": str(d / "x.npy"),
            "gru_a": gru_a, "top": top}


EVERY = ["layer 'block/odd' (ConvLSTM1D), layer 'cube' (Conv3D), layer 'weird' (Bad\\nClass)",
         "'Bad\\nClass', 'Conv3D', 'ConvLSTM1D'"]


def test_load_model_names_every_unsupported_layer_in_one_line(files):
    with pytest.raises(refgru.RefgruError) as info:
        refgru.load_model(files["mixed"])
    message = str(info.value)
    assert "\n" not in message and "got 3 unsupported layers" in message
    for words in EVERY:
        assert words in message, (words, message)


def test_huge_listing_is_bounded(files):
    with pytest.raises(refgru.RefgruError) as info:
        refgru.load_model(files["huge"])
    message = str(info.value)
    assert "\n" not in message and "got 48 unsupported layers" in message
    assert f"and {48 - MAX_LISTED} more" in message and len(message) < 3000
    assert "'extra_44'" not in message  # listed: the first MAX_LISTED only


def test_strict_false_inspects_and_refuses_to_run_with_the_same_error(files):
    model = refgru.load_model(files["mixed"], strict=False)
    assert [(p, c) for p, c, _ in model.problems] == [("block/odd", "ConvLSTM1D"), ("cube", "Conv3D"),
                                                       ("weird", "Bad\nClass")]
    assert "weird (Bad\\nClass)" in model.summary(print_fn=None)  # escaped: the table keeps one row per layer
    labels = {label: w for label, w, _ in model.gru_layers()}
    assert sorted(labels) == ["block/gru_a", "top"]
    np.testing.assert_array_equal(labels["block/gru_a"].kernel, files["gru_a"][0])
    np.testing.assert_array_equal(labels["top"].recurrent_kernel, files["top"][1])
    with pytest.raises(refgru.RefgruError) as strict:
        refgru.load_model(files["mixed"])
    with pytest.raises(refgru.RefgruError) as run:
        model.predict(np.zeros((1, T, F), "float32"))
    assert str(run.value) == str(strict.value)


def test_cli_predict_fails_with_the_listing(files):
    result = cli("predict", files["mixed"], files["x"])
    assert result.returncode != 0 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for words in EVERY:
        assert words in lines[0]


def test_cli_summary_lists_every_layer_and_marks_unsupported(files):
    result = cli("summary", files["mixed"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for row in ["block (Sequential)", "block/gru_a (GRU)", "block/odd (ConvLSTM1D)", "top (GRU)", "cube (Conv3D)",
                "head (Dense)"]:
        assert row in out, (row, out)
    assert out.count("NOT SUPPORTED: unsupported class") == 3
    assert "running the model raises" in out


def test_cli_explain_explains_every_gru_beside_unsupported_layers(files):
    result = cli("explain", files["mixed"])
    assert result.returncode == 0, result.stderr
    assert "block/gru_a" in result.stdout and "top" in result.stdout
    assert result.stdout.startswith("Not explained: 3 layers")
    assert "'weird' ('Bad\\nClass')" in result.stdout.splitlines()[0]


def test_nesting_depth_is_bounded():
    """MAX_MODEL_DEPTH models deep load; one more is refused in one line (no recursion without a bound)."""
    def nested(depth):
        spec = {"class_name": "Sequential", "config": {"name": "m0", "layers": [
            {"class_name": "InputLayer", "config": {"name": "in0", "batch_input_shape": [None, T, F]}},
            {"class_name": "Dense", "config": {"name": "d0", "units": 1}}]}}
        for i in range(1, depth):
            spec = {"class_name": "Sequential", "config": {"name": f"m{i}", "layers": [spec]}}
        return spec
    assert parse_model_config(nested(MAX_MODEL_DEPTH)).entries[-1].graph is not None
    with pytest.raises(refgru.RefgruError, match=f"nested at most {MAX_MODEL_DEPTH} deep"):
        parse_model_config(nested(MAX_MODEL_DEPTH + 1))


def test_nested_h5_array_count_must_match(tmp_path):
    """A nested model's flat .h5 list with one array too many: a one-line error, not a silent shift."""
    path, gru_a, top = _write(str(tmp_path / "m.h5"), bad_class=None, odd=False)
    model = refgru.load_model(path, strict=False)  # Conv3D 'cube' is unsupported; 'block' is complete
    np.testing.assert_array_equal(model.gru_layers()[0][1].bias, gru_a[2])
    with h5py.File(path, "a") as f:
        group = f["model_weights/block"]
        group["extra:0"] = np.zeros(3, "float32")
        group.attrs["weight_names"] = np.array(list(group.attrs["weight_names"]) + [b"extra:0"])
    with pytest.raises(refgru.RefgruError, match="layer 'cube' \\(Conv3D\\)"):
        refgru.load_model(path)  # strict: the listing of unsupported layers comes first
    with pytest.raises(refgru.RefgruError, match=r"layer 'block' \(Sequential\) weights: expected 3 arrays "
                                                 "for its layers' configs, got 4"):
        refgru.load_model(path, strict=False)  # tolerates unsupported classes only, not contradicting arrays
