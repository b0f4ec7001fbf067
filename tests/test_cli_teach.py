"""``refgru explain``, ``refgru trace`` and ``refgru demo``, run end to end as ``python -m refgru``."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers import random_weights

import refgru
from refgru import demo, seed

TF_MODULES = ("tensorflow", "keras", "tf_keras")

#: Runs the refgru CLI with TensorFlow, Keras 3 and tf-keras unimportable, then fails if any got imported.
BLOCKED = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {TF_MODULES!r}:
            raise ImportError("blocked for this test: " + name)
sys.meta_path.insert(0, Block())
from refgru.cli import main
code = main(sys.argv[1:])
leaked = sorted(m for m in sys.modules if m.split(".")[0] in {TF_MODULES!r})
assert not leaked, leaked
raise SystemExit(code)
"""


def cli(*args, cwd, blocked: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", BLOCKED] if blocked else [sys.executable, "-m", "refgru"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(command + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, start: str, code: int = 1) -> None:
    lines = result.stderr.splitlines()
    assert result.returncode == code, (result.returncode, result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(start), lines[0]
    assert result.stdout == ""


@pytest.fixture
def files(tmp_path):
    """The seed weights (np.savez keys arr_*), the seed input, and other weight/input files."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "seed.npz", *seed.WEIGHTS)
    np.save(tmp_path / "x.npy", seed.X)
    kernel, recurrent, bias = random_weights(rng, 2, 3, reset_after=False)
    np.savez(tmp_path / "old.npz", kernel=kernel, recurrent_kernel=recurrent, bias=bias)
    np.savez(tmp_path / "nobias.npz", *random_weights(rng, 2, 3, use_bias=False))
    np.save(tmp_path / "batch.npy", rng.normal(size=(2, 4, 2)).astype(np.float32))
    (tmp_path / "text.npz").write_text("kernel = [[1, 2, 3]]\n")
    np.savez(tmp_path / "shapes.npz", seed.KERNEL, np.zeros((3, 6), np.float32), seed.BIAS)
    np.savez(tmp_path / "keys.npz", w=seed.KERNEL)
    np.savez(tmp_path / "objects.npz", *[np.array([{"a": 1}], dtype=object)] * 3)
    np.save(tmp_path / "wide.npy", np.zeros((1, 3, 4), np.float32))
    return tmp_path


# ---------------------------------------------------------------- refgru explain

def test_explain_seed_npz(files):
    result = cli("explain", "seed.npz", "--activation", "linear", cwd=files)
    assert result.returncode == 0, result.stderr
    out, flat = result.stdout, " ".join(result.stdout.split())
    assert "Variant: reset_after=True" in out and "a (2, 3u) bias means reset_after=True" in flat
    assert "Both rows are used." in flat and "There is no output gate" in flat
    for name, where in [("W_z", "kernel[:, 0:2]"), ("U_h", "recurrent_kernel[:, 4:6]"), ("rb_h", "bias[1, 4:6]")]:
        assert re.search(rf"^\s+{name}\s+{re.escape(where)}", out, re.M), name
    assert "hh = linear(x_t @ W_h + b_h + r * (h_tm1 @ U_h + rb_h))" in out
    assert "= [[-0.642662, -0.0870676]]" in out
    assert out == str(refgru.explain(seed.WEIGHTS, activation="linear")) + "\n"


def test_explain_other_variants_and_forms(files):
    old = cli("explain", "old.npz", cwd=files)
    assert old.returncode == 0 and "Variant: reset_after=False" in old.stdout
    assert "(9,) = (3u,)" in " ".join(old.stdout.split())
    given = cli("explain", "nobias.npz", "--reset-after", "false", "--keras-version", "2",
                "--recurrent-activation", "hard_sigmoid", cwd=files)
    assert given.returncode == 0 and "reset_after=False (as given)" in " ".join(given.stdout.split())
    assert "hh = tanh(x_t @ W_h + (r * h_tm1) @ U_h)" in given.stdout and "Keras 2's clip" in given.stdout
    md = cli("explain", "seed.npz", "--markdown", "--no-values", cwd=files)
    assert md.returncode == 0 and md.stdout.startswith("### GRU: units u = 2") and "| value |" not in md.stdout


@pytest.mark.parametrize("name,start", [
    ("missing.npz", "refgru: error: FILE: expected a readable file, got 'missing.npz'"),
    ("text.npz", "refgru: error: FILE: expected an .npz (zip) file, got a file that is not one"),
    ("shapes.npz", "refgru: error: recurrent_kernel: expected shape (2, 6) to match kernel (1, 6)"),
    ("keys.npz", "refgru: error: FILE: expected an .npz with keys arr_0/arr_1/arr_2 or kernel/recurrent_kernel/bias"),
    ("x.npy", "refgru: error: FILE: expected a file ending in .npz, got 'x.npy'"),
    ("objects.npz", "refgru: error: FILE['arr_0']: expected a .npy array of a numeric dtype"),
])
def test_explain_bad_file_is_one_line(files, name, start):
    assert_one_line_error(cli("explain", name, cwd=files), start)


def test_explain_bad_options(files):
    assert_one_line_error(cli("explain", "seed.npz", "--reset-after", "false", cwd=files),
                          "refgru: error: reset_after: expected True for a bias of shape (2, 6)")
    assert_one_line_error(cli("explain", "seed.npz", "--activation", "nope", cwd=files),
                          "refgru: error: activation: expected")
    usage = "refgru explain: error:"  # argparse: exit code 2
    assert_one_line_error(cli("explain", "seed.npz", "--reset-after", "maybe", cwd=files), usage, code=2)
    assert_one_line_error(cli("explain", "seed.npz", "--keras-version", "4", cwd=files), usage, code=2)
    assert_one_line_error(cli("explain", "m.keras", "--activation", "tanh", cwd=files),
                          "refgru: error: --activation: expected no layer option with a model file")


@pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file")
def test_explain_model_files(kr, tmp_path):
    """A Keras 3 .keras file (GRU + Bidirectional) and a tf-keras .h5 (reset_after=False, hard_sigmoid)."""
    pytest.importorskip("refgru.model")
    keras, tf_keras = kr.keras, kr.tf_keras
    inputs = keras.Input((4, 2))
    hidden = keras.layers.GRU(3, return_sequences=True, activation="linear", name="first")(inputs)
    outputs = keras.layers.Bidirectional(keras.layers.GRU(2, reset_after=False), name="both")(hidden)
    keras.Model(inputs, outputs).save(tmp_path / "m.keras")
    old = tf_keras.Sequential([tf_keras.Input((4, 2)),
                               tf_keras.layers.GRU(3, reset_after=False, recurrent_activation="hard_sigmoid")])
    old.save(tmp_path / "old.h5")

    result = cli("explain", "m.keras", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    titles = [line for line in result.stdout.splitlines() if line.startswith("GRU '")]
    assert [t.split("'")[1] for t in titles] == ["first", "both/forward", "both/backward"]
    blocks = result.stdout.split("\nGRU '")
    assert "Variant: reset_after=True" in blocks[0] and "hh = linear(" in blocks[0]
    assert all("Variant: reset_after=False" in b and "(6,) = (3u,)" in " ".join(b.split()) for b in blocks[1:])
    result = cli("explain", "old.h5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Variant: reset_after=False" in result.stdout
    assert "Keras 2's clip(0.2 * x + 0.5, 0, 1)" in " ".join(result.stdout.split())


# ---------------------------------------------------------------- refgru trace

def test_trace_seed_table(files):
    result = cli("trace", "x.npy", "seed.npz", "--activation", "linear", cwd=files)
    assert result.returncode == 0, result.stderr
    tr = refgru.trace(seed.X, seed.WEIGHTS, activation="linear")
    assert result.stdout == tr.table(0) + "\n"
    rows = [line.split()[-8:] for line in result.stdout.splitlines()[3:9]]
    columns = (tr.h_tm1, tr.a_z, tr.z, tr.a_r, tr.r, tr.a_h, tr.hh, tr.h)
    assert rows[5] == [f"{float(v[0, 2, 1]):+.4f}" for v in columns]


def test_trace_batch_options_and_plot(files):
    result = cli("trace", "batch.npy", "old.npz", "--keras-version", "2", "--recurrent-activation", "hard_sigmoid",
                 cwd=files)
    assert result.returncode == 0, result.stderr
    assert "sequence 0 of 2" in result.stdout and "sequence 1 of 2" in result.stdout
    assert "keras_version=2" in result.stdout and "(r * h_tm1) @ U_h" in result.stdout
    one = cli("trace", "batch.npy", "old.npz", "--sequence", "1", "--parts", cwd=files)
    assert one.returncode == 0 and "sequence 0 of 2" not in one.stdout and "sequence 1 of 2" in one.stdout
    assert {"x_z", "rec_z", "x_h", "rec_h"} <= set(one.stdout.splitlines()[1].split())
    pytest.importorskip("matplotlib")
    plotted = cli("trace", "x.npy", "seed.npz", "--plot", "gates.png", cwd=files)
    assert plotted.returncode == 0 and "wrote the gate plot of sequence 0 to gates.png" in plotted.stdout
    assert (files / "gates.png").read_bytes()[:4] == b"\x89PNG"


def test_trace_bad_input_is_one_line(files):
    assert_one_line_error(cli("trace", "wide.npy", "seed.npz", cwd=files), "refgru: error: x: expected features = 1")
    assert_one_line_error(cli("trace", "missing.npy", "seed.npz", cwd=files),
                          "refgru: error: X: expected a readable file, got 'missing.npy'")
    assert_one_line_error(cli("trace", "seed.npz", "seed.npz", cwd=files),
                          "refgru: error: X: expected a file ending in .npy, got 'seed.npz'")
    assert_one_line_error(cli("trace", "x.npy", "shapes.npz", cwd=files), "refgru: error: recurrent_kernel: expected")
    assert_one_line_error(cli("trace", "x.npy", "m.keras", cwd=files), "refgru: error: WEIGHTS: expected an .npz")
    assert_one_line_error(cli("trace", "x.npy", "seed.npz", "--sequence", "1", cwd=files),
                          "refgru: error: --sequence: expected an index in [0, 1)")


def test_trace_rich_table_on_a_terminal(monkeypatch, capsys):
    """On a terminal, with rich installed, the same rows are printed as a rich table."""
    pytest.importorskip("rich")
    from refgru.cli import teach

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    tr = refgru.trace(seed.X, seed.WEIGHTS, activation="linear")
    teach.print_table(tr, 0, parts=False)
    out = capsys.readouterr().out
    assert "│" in out or "┃" in out  # rich's box drawing, not the plain table
    for row in tr.rows(0)[1]:
        assert re.search(r"[\s│┃]+".join(re.escape(c) for c in row if c), out), row
    assert "r * (h_tm1 @ U_h + rb_h)" in out


# ---------------------------------------------------------------- refgru demo

def test_demo_without_tensorflow(tmp_path):
    """The demo runs with TensorFlow, Keras 3 and tf-keras blocked, and prints every part."""
    result = cli("demo", cwd=tmp_path, blocked=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    tr = demo.seed_trace()
    assert "GRU(units=2, input_shape=(3, 1), activation='linear') followed by Dense(1)" in out
    assert str(refgru.explain(seed.WEIGHTS, activation="linear")) in out
    assert tr.table(0) in out
    assert f"h = [{tr.state[0, 0]:.6f}, {tr.state[0, 1]:.6f}]" in out
    assert f"= {float(demo.predict(tr.state)[0, 0]):.6f}" in out


def test_demo_check_says_when_keras_is_missing(tmp_path):
    result = cli("demo", "--check", cwd=tmp_path, blocked=True)  # the demo, then one line on stderr; exit 1
    assert result.returncode == 1 and result.stdout.startswith("refgru demo:"), result.stderr
    assert result.stderr.count("\n") == 1 and "--check needs Keras 3 or tf-keras" in result.stderr


def test_demo_plot(tmp_path):
    pytest.importorskip("matplotlib")
    result = cli("demo", "--plot", "out.png", cwd=tmp_path, blocked=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.png").read_bytes()[:4] == b"\x89PNG" and "Wrote the gate plot" in result.stdout


def test_demo_check_against_keras(kr, tmp_path):
    """``refgru demo --check`` runs the seed model in both Keras versions and reports agreement."""
    result = cli("demo", "--check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.split("Checking against Keras")[1]
    assert f"Keras 3 (keras {kr.keras.__version__}): agrees with refgru" in out
    assert f"tf-keras (Keras 2) (tf_keras {kr.tf_keras.__version__}): agrees with refgru" in out
    diffs = [float(v) for v in re.findall(r": ([0-9.e+-]+)$", out, re.M)]
    assert len(diffs) == 6 and max(diffs) <= demo.CHECK_TOLERANCE


def test_demo_check_reports_disagreement_and_failures(monkeypatch, capsys):
    """The verdict logic of --check, with a stand-in library whose outputs are off or that crashes."""
    import argparse

    monkeypatch.setattr(demo, "KERAS_LIBS", (("json", "Stand-in"),))
    tr = demo.seed_trace()
    monkeypatch.setattr(demo, "_run_in_keras", lambda lib: (tr.h + 1e-3, demo.predict(tr.state)))
    lines, ok = demo.keras_check()
    assert ok is False and "Stand-in (json" in lines[0] and "DISAGREES with refgru" in lines[0]
    assert demo._main(argparse.Namespace(plot=None, check=True)) == 1
    assert "DISAGREES" in capsys.readouterr().out

    def crash(lib):
        raise RuntimeError("no device\nsecond line")

    monkeypatch.setattr(demo, "_run_in_keras", crash)
    lines, ok = demo.keras_check()
    assert ok is False and lines == ["Stand-in: could not run the model (RuntimeError: no device)"]


@pytest.fixture(scope="module")
def kr():
    return pytest.importorskip("keras_ref")


@pytest.mark.parametrize("version", [3, 2])
def test_trace_table_states_and_demo_prediction_are_keras_numbers(kr, files, tmp_path, version):
    """The CLI's seed table prints Keras's h_tm1 and h at every step; the demo prints Keras's Dense(GRU) output."""
    seq = kr.keras_gru(version, seed.WEIGHTS, seed.X, activation="linear", return_sequences=True)
    table = cli("trace", "x.npy", "seed.npz", "--activation", "linear", "--keras-version", str(version), cwd=files)
    rows = [line.split()[-8:] for line in table.stdout.splitlines()[3:9]]
    h = [f"{float(seq[0, k // 2, k % 2]):+.4f}" for k in range(6)]
    assert [row[-1] for row in rows] == h and [row[0] for row in rows[2:]] == h[:4]
    dense = kr.LIBS[version].layers.Dense(1)
    dense.build((None, 2))
    dense.set_weights([seed.DENSE_KERNEL, seed.DENSE_BIAS])
    y = float(np.asarray(dense(kr.tf.constant(seq[:, -1])))[0, 0])
    assert f"= {y:.6f}" in cli("demo", cwd=tmp_path, blocked=True).stdout


# --- weights from text, GRUs inside model files (issue 17) --------------------------------------------------------

NOTE = "refgru: note: assumed activation='tanh', recurrent_activation='sigmoid'"


def cli_stdin(*args, text: str, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-c", BLOCKED, *map(str, args)], input=text, capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def test_explain_text_of_the_seed_question(tmp_path):
    """The question's exact printout: a GRU(2) with a (2, 6) bias, reset_after=True from the shape, both rows used."""
    from pathlib import Path

    from refgru.teach import seed_question

    fixture = Path(__file__).parent / "data" / "seed_get_weights.txt"
    assert fixture.read_text() == seed_question.PRINTED
    result = cli("explain", "--text", fixture, cwd=tmp_path, blocked=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()] and result.stderr.startswith(NOTE)
    assert "--activation NAME / --recurrent-activation NAME" in result.stderr
    out = result.stdout
    assert "GRU: units u = 2, input_dim = 1, dtype float32" in out
    assert "Variant: reset_after=True" in out and "The bias has shape (2, 6) = (2, 3u)" in out
    assert "[2] bias (2, 6): two bias rows; both are used at every step" in out
    assert "U_h   recurrent_kernel[:, 4:6]  (2, 2)  recurrent weights of the candidate hh   = " \
           "[[-0.337903, 0.270629], [-0.653358, -0.32484]]" in out
    assert out.strip() == refgru.explain(seed.WEIGHTS).to_text().strip()
    piped = cli_stdin("explain", "--text", "-", "--activation", "linear", "--recurrent-activation", "sigmoid",
                      text=seed_question.PRINTED, cwd=tmp_path)
    assert piped.returncode == 0 and piped.stderr == ""
    assert piped.stdout.strip() == refgru.explain(seed.WEIGHTS, activation="linear").to_text().strip()


def test_explain_text_of_torch_printouts(tmp_path):
    """torch's parameters() list and state_dict() printouts, converted with GRUWeights.from_torch (tanh/sigmoid)."""
    from refgru.cli.weights import pasted_weights

    rng = np.random.default_rng(5)
    params = {"weight_ih_l0": rng.normal(size=(6, 3)), "weight_hh_l0": rng.normal(size=(6, 2)),
              "bias_ih_l0": rng.normal(size=6), "bias_hh_l0": rng.normal(size=6)}
    params = {k: v.astype(np.float32).round(4) for k, v in params.items()}

    def tensor(a):
        return f"tensor({np.array2string(a, separator=', ', precision=4, floatmode='fixed')}, requires_grad=True)"

    state_dict = "OrderedDict([" + ", ".join(f"('{k}', {tensor(v)})" for k, v in params.items()) + "])"
    parameters = "[" + ",\n".join(f"Parameter containing:\n{tensor(v)}" for v in params.values()) + "]"
    expected = refgru.GRUWeights.from_torch(params)
    for text in (state_dict, parameters):
        (label, w), = pasted_weights(refgru.weights_from_text(text))[0]
        assert label == "torch l0"
        for name in ("kernel", "recurrent_kernel", "bias"):
            np.testing.assert_array_equal(getattr(w, name), getattr(expected, name))
        (tmp_path / "t.txt").write_text(text)
        result = cli("explain", "--text", "t.txt", cwd=tmp_path, blocked=True)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert result.stdout.strip() == refgru.explain(expected, label="torch l0").to_text().strip()


def test_explain_text_refusals_are_one_line(tmp_path):
    (tmp_path / "elided.txt").write_text("[array([0.1, 0.2, ..., 0.9], dtype=float32)]")
    (tmp_path / "code.txt").write_text("__import__('os').system('echo hi')")
    (tmp_path / "deep.txt").write_text("array(" + "[" * 10_000 + "1" + "]" * 10_000 + ")")
    assert_one_line_error(cli("explain", "--text", "elided.txt", cwd=tmp_path), "refgru: error: text: expected")
    elided = cli("explain", "--text", "elided.txt", cwd=tmp_path)
    assert "np.set_printoptions(threshold=sys.maxsize)" in elided.stderr
    assert_one_line_error(cli("explain", "--text", "code.txt", cwd=tmp_path), "refgru: error: text: expected")
    assert_one_line_error(cli("explain", "--text", "deep.txt", cwd=tmp_path), "refgru: error: text: expected")
    assert_one_line_error(cli("explain", "--text", "none.txt", cwd=tmp_path),
                          "refgru: error: --text: expected an existing text file")
    assert_one_line_error(cli("explain", "x.npz", "--text", "code.txt", cwd=tmp_path),
                          "refgru: error: FILE: expected no FILE with --text")
    assert_one_line_error(cli("explain", cwd=tmp_path), "refgru: error: FILE: expected a weights or model file")


@pytest.fixture(scope="module")
def saved(kr, tmp_path_factory):
    """A Keras 3 .keras model: Masking -> GRU 'g1' (hard_sigmoid, go_backwards) -> Bidirectional 'bi' -> GRU 'g3'."""
    import model_zoo

    keras, path = kr.keras, tmp_path_factory.mktemp("models")
    L = keras.layers
    inputs = keras.Input((6, 3))
    h = L.GRU(4, return_sequences=True, recurrent_activation="hard_sigmoid", go_backwards=True,
              name="g1")(L.Masking()(inputs))
    h = L.Bidirectional(L.GRU(3, return_sequences=True, reset_after=False), name="bi")(h)
    model = model_zoo.randomize(keras.Model(inputs, L.GRU(2, name="g3")(h)), np.random.default_rng(3))
    model_zoo.save(model, path / "m.keras")
    x = model_zoo.masked_input(np.random.default_rng(4), steps=6)
    np.save(path / "x.npy", x)
    return path, refgru.from_keras(model), x


def test_weights_then_explain_and_trace_need_no_flags(saved):
    path, model, x = saved
    result = cli("weights", "m.keras", "--layer", "g1", "-o", "g1.npz", cwd=path, blocked=True)
    assert result.returncode == 0, result.stderr
    assert "wrote 'g1': get_weights() arrays (3, 12), (4, 12), (2, 12)" in result.stdout
    with np.load(path / "g1.npz", allow_pickle=False) as f:
        assert sorted(f.files) == ["arr_0", "arr_1", "arr_2", "refgru_options"]
        label, w, options = model.gru_layers()[0]
        for i, name in enumerate(("kernel", "recurrent_kernel", "bias")):
            np.testing.assert_array_equal(f[f"arr_{i}"], getattr(w, name))
    explained = cli("explain", "g1.npz", cwd=path, blocked=True)
    assert explained.returncode == 0 and explained.stderr == "", explained.stderr
    assert explained.stdout.strip() == refgru.explain(w, label="g1", **options).to_text().strip()
    assert "recurrent_activation='hard_sigmoid'" in explained.stdout
    from_npz = cli("trace", "x.npy", "g1.npz", "--row", "1", cwd=path, blocked=True)
    from_model = cli("trace", "m.keras", "x.npy", "--layer", "g1", "--row", "1", cwd=path, blocked=True)
    assert from_npz.returncode == 0 and from_model.returncode == 0, (from_npz.stderr, from_model.stderr)
    assert from_npz.stderr == "" and from_model.stderr == ""
    # the npz trace has no mask; on row 1 the masked steps differ, so compare with the in-model trace's own table
    assert from_model.stdout.strip() == model.trace(x, layer="g1").table(1).strip()
    assert "go_backwards=True" in from_npz.stdout and "recurrent_activation='hard_sigmoid'" in from_npz.stdout
    bidi = cli("weights", "m.keras", "--layer", "bi/backward", "-o", "bw.npz", cwd=path, blocked=True)
    assert bidi.returncode == 0 and "'bi/backward'" in bidi.stdout


def test_trace_and_explain_a_layer_of_a_model_file(saved):
    path, model, x = saved
    result = cli("trace", "m.keras", "x.npy", "--layer", "bi/backward", "--plot", "bw.png", cwd=path, blocked=True)
    assert result.returncode == 0, result.stderr
    tr = model.trace(x, layer="bi/backward")
    assert result.stdout.startswith("\n\n".join(tr.table(b) for b in range(tr.batch)))
    assert (path / "bw.png").read_bytes()[:4] == b"\x89PNG"
    explained = cli("explain", "m.keras", "--layer", "bi", cwd=path, blocked=True)
    assert explained.returncode == 0, explained.stderr
    titles = [line for line in explained.stdout.splitlines() if line.startswith("GRU ")]
    assert [t.split(":")[0] for t in titles] == ["GRU 'bi/forward'", "GRU 'bi/backward'"]
    assert_one_line_error(cli("trace", "m.keras", "x.npy", cwd=path), "refgru: error: --layer: expected one of the 4")
    assert_one_line_error(cli("trace", "m.keras", "x.npy", "--layer", "bi", cwd=path),
                          "refgru: error: --layer: expected the name of a GRU")
    assert_one_line_error(cli("weights", "m.keras", "--layer", "nope", "-o", "n.npz", cwd=path),
                          "refgru: error: --layer: expected the name of a GRU")
    assert_one_line_error(cli("explain", "m.keras", "--layer", "nope", cwd=path),
                          "refgru: error: --layer: expected the name of a GRU in the model")
    assert_one_line_error(cli("trace", "m.keras", "x.npy", "--layer", "g1", "--activation", "tanh", cwd=path),
                          "refgru: error: --activation: expected no layer option with a model file")


def test_bare_npz_says_which_activations_it_assumed(files):
    explained = cli("explain", "seed.npz", cwd=files, blocked=True)
    traced = cli("trace", "x.npy", "seed.npz", cwd=files, blocked=True)
    for result in (explained, traced):
        assert result.returncode == 0
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(NOTE)
    assert "assumed" not in cli("trace", "x.npy", "seed.npz", "--activation", "linear", "--recurrent-activation",
                                "sigmoid", cwd=files).stderr
    assert_one_line_error(cli("explain", "seed.npz", "--layer", "gru", cwd=files),
                          "refgru: error: --layer: expected a .keras/.h5 model file")


@pytest.mark.parametrize(("options", "start"), [
    ('{"activation": "tanh", "__class__": "x"}', "refgru: error: FILE: expected refgru_options keys among label"),
    ('{"activation": ["tanh"]}', "refgru: error: FILE refgru_options['activation']: expected a str"),
    ('{"activation": "' + "a" * 100 + '"}', "refgru: error: FILE refgru_options['activation']: expected a str of"),
    ('[' * 5000 + ']' * 5000, "refgru: error: FILE: expected refgru_options of at most 4096 characters"),
    ('["' + "\u00e9" * 3000 + '"]', "refgru: error: FILE: expected refgru_options JSON of at most 4096 bytes"),
    ('[' * 2000 + ']' * 2000, "refgru: error: FILE: expected refgru_options holding a JSON object"),
    ('{"keras_version": 7}', "refgru: error: FILE refgru_options['keras_version']: expected 2 or 3"),
    ("not json", "refgru: error: FILE: expected refgru_options holding a JSON object"),
    ('{"reset_after": 1}', "refgru: error: FILE refgru_options['reset_after']: expected a bool"),
], ids=["key", "type", "long", "huge", "bytes", "deep", "version", "invalid", "bool"])
def test_stored_options_are_read_safely(files, options, start):
    np.savez(files / "opt.npz", *seed.WEIGHTS, refgru_options=np.array(options))
    assert_one_line_error(cli("explain", "opt.npz", cwd=files), start)


def test_huge_options_member_is_refused_before_reading(files):
    np.savez(files / "big.npz", *seed.WEIGHTS, refgru_options=np.array("x" * 100_000))
    assert_one_line_error(cli("explain", "big.npz", cwd=files),
                          "refgru: error: FILE: expected refgru_options of at most")
    np.savez(files / "arr.npz", *seed.WEIGHTS, refgru_options=np.zeros(3))
    assert_one_line_error(cli("explain", "arr.npz", cwd=files), "refgru: error: FILE: expected refgru_options as one")
