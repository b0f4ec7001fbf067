"""``refgru predict`` at scale, run as a user would (subprocesses): formats, bounded memory, errors, pipes, help.

The model files are built by ``tests/tiny_files.py`` with h5py (no Keras needed); the tiny model's
numbers themselves are checked against Keras in the model tests. Nothing here imports Keras.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import tiny_files
from helpers import large_input

import refgru

ROOT = pathlib.Path(__file__).parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
RNG = np.random.default_rng(5)
X = RNG.normal(size=(5000, 4, 3)).astype("float32")
#: Runs the real CLI, then reports this process's peak resident memory (VmHWM) on stderr's last line.
WITH_RSS = ("import sys\nfrom refgru.cli import main\ncode = main(sys.argv[1:])\n"
            "print('VmHWM', next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1], "
            "file=sys.stderr)\nraise SystemExit(code)\n")


def refgru_cli(*args, cwd, env=ENV, code=None):
    command = [sys.executable, *(["-c", code] if code else ["-m", "refgru"]), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def one_line_error(result, *fragments):
    """A failed run: non-zero exit, nothing on stdout, one line on stderr holding every fragment."""
    lines = result.stderr.splitlines()
    assert result.returncode != 0 and result.stdout == "", (result.returncode, result.stdout[:200])
    assert len(lines) == 1 and lines[0].startswith("refgru: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def model_file(d, batch_shape=(None, 4, 3), stateful=False, features=3):
    config = tiny_files.keras_config()
    config["config"]["layers"][0]["config"]["batch_shape"] = list(batch_shape)
    config["config"]["layers"][1]["config"]["stateful"] = stateful
    gru = [np.random.default_rng(1).normal(size=(features, 6)).astype("float32"), *tiny_files.GRU_ARRAYS[1:]]
    path = d / ("stateful.keras" if stateful else f"m{features}.keras")
    path.write_bytes(tiny_files.keras_bytes(config, weights=tiny_files.keras_weights_bytes(gru=gru)))
    return path


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    d = tmp_path_factory.mktemp("scale")
    model_file(d)
    np.save(d / "x.npy", X)
    return d


@pytest.fixture(scope="module")
def expect(d):
    return refgru.load_model(d / "m3.keras").predict(X, batch_size=len(X), verbose=0)


def test_version_and_every_subcommand_has_a_description_and_an_example(d):
    version = refgru_cli("--version", cwd=d)
    assert version.returncode == 0 and version.stdout.strip() == f"refgru {refgru.__version__}"
    for command in ["demo", "explain", "trace", "predict", "summary"]:
        text = refgru_cli(command, "--help", cwd=d).stdout
        usage, description = text.split("\n\n")[:2]
        assert usage.startswith(f"usage: refgru {command}") and len(description.split()) >= 8, text
        assert "example" in text and f"\n  refgru {command} " in text, text


@pytest.mark.parametrize("ext", [".npy", ".npz", ".csv", ".txt"])
def test_streamed_formats_round_trip_and_equal_in_memory_predict(d, expect, ext, tmp_path):
    if ext == ".npz":
        np.savez_compressed(tmp_path / "x.npz", x=X)
    elif ext != ".npy":
        np.savetxt(tmp_path / f"x{ext}", X.reshape(len(X), -1), delimiter="," if ext == ".csv" else " ",
                   fmt="%.9g")  # 9 significant digits: float32 exactly
    source = d / "x.npy" if ext == ".npy" else tmp_path / f"x{ext}"
    for out in ["y.npy", "y.npz", "y.csv"]:
        run = refgru_cli("predict", d / "m3.keras", source, "-o", tmp_path / out, "--batch-size", 777, cwd=tmp_path)
        assert run.returncode == 0 and run.stdout == "" and run.stderr == "", run.stderr  # no bar: not a terminal
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.float32 and np.allclose(y, expect, rtol=0, atol=1e-6)  # float32, another batch size
    with np.load(tmp_path / "y.npz") as z:
        assert z.files == ["dense"] and np.array_equal(z["dense"], y)
    assert np.array_equal(np.loadtxt(tmp_path / "y.csv", delimiter=",", dtype="float32", ndmin=2), y)
    auto = refgru_cli("predict", d / "m3.keras", source, "-o", tmp_path / "auto.npy", "--quiet", cwd=tmp_path)
    assert auto.returncode == 0 and np.allclose(np.load(tmp_path / "auto.npy"), expect, rtol=0, atol=1e-6)


def test_printed_without_output_file_in_full(d, expect):
    np.save(d / "few.npy", X[:300])
    run = refgru_cli("predict", d / "m3.keras", d / "few.npy", cwd=d)
    assert run.returncode == 0 and run.stderr == "" and "..." not in run.stdout
    header, body = run.stdout.split("\n", 1)
    assert header == "dense (300, 1) float32"
    printed = np.array([float(v) for v in body.replace("[", " ").replace("]", " ").replace(",", " ").split()])
    assert np.allclose(printed, expect[:300, 0], rtol=0, atol=1e-6)  # precision=6


def test_peak_rss_of_the_cli_on_a_large_memory_mapped_input(tmp_path):
    """A 381 MB ``.npy`` through ``refgru predict -o``: the process's peak RSS stays far below the input's size."""
    path, rows, block = tmp_path / "x.npy", 25_000, 2500
    firsts = large_input(path, rows, block)
    model = model_file(tmp_path, batch_shape=(None, 4, 1000), features=1000)
    run = refgru_cli("predict", model, path, "-o", tmp_path / "y.npy", cwd=tmp_path, code=WITH_RSS)
    assert run.returncode == 0, run.stderr
    peak_mb = int(run.stderr.split()[-1]) / 1024
    assert peak_mb < 300, peak_mb  # generous: the input alone is 381 MB
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (rows, 1) and np.allclose(y[::block], refgru.load_model(model).predict(firsts), rtol=0, atol=1e-5)


def test_broken_pipe_exits_quietly(d):
    """``refgru predict ... | head -1``: head closes the pipe after one line; refgru exits 0 without a word."""
    ours = subprocess.Popen([sys.executable, "-m", "refgru", "predict", str(d / "m3.keras"), str(d / "x.npy")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=d)
    head = subprocess.Popen(["head", "-1"], stdin=ours.stdout, stdout=subprocess.PIPE)
    ours.stdout.close()  # only head holds the read end now
    first = head.communicate(timeout=120)[0]
    err = ours.communicate(timeout=120)[1]
    assert first == b"dense (5000, 1) float32\n"  # 5000 printed rows: far more than a pipe buffer
    assert ours.returncode == 0 and err == b"", err


def test_demo_check_without_keras_prints_the_demo_then_one_line_and_fails(d):
    hide = "import sys\nsys.modules['keras'] = sys.modules['tf_keras'] = None\n"
    run = refgru_cli("demo", "--check", cwd=d, code=hide + "from refgru.cli import main\nraise SystemExit(main())\n")
    assert run.returncode == 1 and run.stdout.startswith("refgru demo:") and "3. The prediction" in run.stdout
    assert run.stderr.splitlines() == [run.stderr.strip()] and "needs Keras 3 or tf-keras" in run.stderr
    assert "pip install '.[keras]'" in run.stderr and "refgru[" not in run.stderr


def test_every_error_is_one_line_and_non_zero(d, tmp_path):
    m, stateful = d / "m3.keras", model_file(tmp_path, batch_shape=(2, 4, 3), stateful=True)
    nan = X[:50].copy()
    nan[[3, 40], 1, 1] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    with open(tmp_path / "huge.npy", "wb") as f:  # 128 bytes whose header declares 3e12 floats
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 3 * 10**6)})
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savetxt(tmp_path / "short.csv", X[:4].reshape(4, -1)[:, :11], delimiter=",")
    with zipfile.ZipFile(tmp_path / "big.npz", "w", zipfile.ZIP_DEFLATED) as z, \
            z.open("arr_0.npy", "w", force_zip64=True) as f:  # honest and deflated: 300 MB of zeros in 300 kB
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (300, 1 << 18)})
        for _ in range(300):
            f.write(bytes(1 << 20))
    np.save(tmp_path / "x7.npy", X[:5, :3])  # 3 steps where 4 are declared: tf-keras refuses, Keras 3 Sequential not
    (tmp_path / "tf_keras.h5").write_bytes(tiny_files.h5_bytes())
    cases = [
        (["predict", m, "x.json", "-o", "y.npy"], "INPUT: expected a file ending in .npy, .npz, .csv, .txt"),
        (["predict", m, d / "x.npy", "-o", "y.txt"], "OUT: expected a file ending in .npy, .npz, .csv"),
        (["predict", m, "nan.npy", "-o", "y.npy"], "got 2 rows holding NaN or inf (row 3, 40)"),
        (["predict", m, "nan.npy"], "got 2 rows holding NaN or inf (row 3, 40)"),
        (["predict", m, "huge.npy", "-o", "y.npy"], "12000000000128 bytes for shape (1000000, 3000000)"),
        (["predict", m, "obj.npy", "-o", "y.npy"], "got dtype '|O'"),
        (["predict", m, "short.csv", "-o", "y.npy"], "INPUT line 1: expected a row of 4x3 values"),
        (["predict", "tf_keras.h5", "x7.npy"], "x['x']: expected shape (batch, 4, 3), as the model's input declares"),
        (["predict", m, d / "x.npy", "--batch-size", "0"], "--batch-size: expected a positive number"),
        (["predict", stateful, d / "x.npy", "-o", "y.npy"], "batch_size: expected an explicit batch size"),
        (["predict", m, "missing.npy", "-o", "y.npy"], "INPUT: expected a readable file"),
        (["trace", "huge.npy", "big.npz"], "WEIGHTS: expected arrays of at most 256 MB"),
        (["trace", "huge.npy", d / "x.npy"], "WEIGHTS: expected a file ending in .npz"),
        (["explain", "big.npz"], "FILE: expected arrays of at most 256 MB in all, got headers declaring 300 MB"),
    ]
    for args, fragment in cases:
        one_line_error(refgru_cli(*args, cwd=tmp_path), fragment)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("y")) == []  # failed runs leave no file
    np.save(tmp_path / "many.npy", np.zeros((100_001, 4, 3), "float32"))
    one_line_error(refgru_cli("predict", m, "many.npy", cwd=tmp_path), "-o: expected an output file",
                   "100001 values, too many to print")
    one_line_error(refgru_cli("predict", stateful, d / "x.npy", "--batch-size", 3, cwd=tmp_path), "stateful")
    shorter = refgru_cli("predict", m, "x7.npy", cwd=tmp_path)  # a Keras 3 Sequential model computes on 3 steps
    assert shorter.returncode == 0 and shorter.stdout.startswith("dense (5, 1) float32"), shorter.stderr
