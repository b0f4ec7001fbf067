"""Packaging promises: NumPy-only import, the README's commands are what CI runs, the CLI entry points."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parent.parent

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {BLOCKED}:
            raise ImportError('blocked for this test: ' + name)
sys.meta_path.insert(0, Block())
"""
HEAVY = ["tensorflow", "keras", "tf_keras", "torch", "onnx", "onnxruntime", "h5py", "matplotlib", "scipy", "jax"]


def run_python(code: str, blocked=HEAVY) -> subprocess.CompletedProcess:
    prelude = BLOCKER.replace("{BLOCKED}", repr(set(blocked)))
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_import_needs_only_numpy():
    code = """
import numpy as np, refgru
w = [np.ones((2, 6)), np.ones((2, 6)), np.zeros((2, 6))]
print(refgru.gru(np.ones((1, 3, 2)), w).shape)
heavy = sorted(m for m in sys.modules if m.split('.')[0] in %r)
assert not heavy, heavy
""" % (HEAVY,)
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 2)"


def test_readme_opens_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text().splitlines()
    first = readme[: readme.index("```", 3) + 1]
    commands = [line for line in first if line.startswith("pip install")]
    assert len(commands) == 2 and "refgru demo" in commands[0] and "[test]" in commands[1] and "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in commands:
        assert command in ci, f".ci/run does not run the README command {command!r}"


def test_python_dash_m_and_one_line_errors():
    ok = subprocess.run([sys.executable, "-m", "refgru", "demo"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert ok.returncode == 0 and "W_z" in ok.stdout and "U_h" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "refgru", "no-such-command"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert bad.returncode != 0
    assert len(bad.stderr.strip().splitlines()) == 1 and "no-such-command" in bad.stderr
    assert "Traceback" not in bad.stderr
