"""Mixed precision: dtype policies, bfloat16 rounding, and models saved under ``mixed_float16``,
``mixed_bfloat16`` and with ``dtype="float16"`` layers, against Keras 3 and tf-keras on CPU.

The Keras side runs in two builder processes (``python test_mixed_precision.py DIR LIB``, one per
Keras), which set the global policy, build :data:`MODELS`, save them as ``.keras`` and ``.h5`` and
record Keras's outputs (``tests/model_runs.py``). refgru then loads every file in ONE process where
importing TensorFlow or either Keras raises ImportError (``model_runs.BLOCKER``).

Tolerance (:data:`TOLERANCE`, on ``max|ours - keras| / max(1, max|keras|)``): measured, every
float16 and bfloat16 output of these models was bit-identical to Keras's (difference 0); the only
non-zero differences, at most 5.96e-8, come from the final float32 ``softmax`` layer (float32 rounding).
The tolerance is 2.5e-7, about four times that maximum.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import refgru
from refgru.core.activation_fns import sigmoid
from refgru.core.precision import round_bfloat16, round_float16, rounded_activation
from refgru.model.precision import parse_policy

HERE = os.path.dirname(os.path.abspath(__file__))
LIBS = ("keras", "tf_keras")
POLICIES = ("mixed_float16", "mixed_bfloat16")
#: Tolerance on ``max|ours - keras| / max(1, max|keras|)`` (see the module docstring).
TOLERANCE = 2.5e-7


# --- NumPy only: policies and rounding ---------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("float32", ("float32", "float32")),
    (None, ("float32", "float32")),
    ("float16", ("float16", "float16")),
    ({"class_name": "Policy", "config": {"name": "mixed_float16"}}, ("float32", "float16")),
    ({"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"}, "registered_name": None},
     ("float32", "bfloat16")),
    ({"module": "keras", "class_name": "FloatDTypePolicy", "config": {"name": "float64"}}, ("float64", "float64")),
    ("mixed_bfloat16", ("float32", "bfloat16")),
])
def test_policy_forms(spec, expected):
    policy = parse_policy(spec, "layer 'x' dtype")
    assert (policy.variable_dtype, policy.compute_dtype) == expected
    assert policy.carrier == (np.float32 if policy.reduced else np.dtype(expected[1]))


@pytest.mark.parametrize("spec", ["int8", "mixed_int8", {"class_name": "QuantizedDTypePolicy",
                                                           "config": {"name": "int8_from_float32"}}, 3])
def test_other_policies_are_refused(spec):
    with pytest.raises(refgru.RefgruError, match="layer 'x' dtype: expected a dtype policy among float32"):
        parse_policy(spec, "layer 'x' dtype")


def _bit_patterns():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    ties = (rng.integers(0, 2**16, 2000, dtype=np.uint32) << 16) | np.uint32(0x8000)  # exact ties, both parities
    special = np.array([0x7F7FFFFF, 0x7F7F8000, 0xFF7F8000, 0x7F800000, 0xFF800000, 0, 0x80000000, 1, 0x8001,
                        0x00018000, 0x3F808000, 0x3F818000], np.uint32)
    return np.concatenate([bits, ties, special]).view(np.float32)


def test_round_bfloat16_matches_ml_dtypes():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = _bit_patterns()
    ours = round_bfloat16(x)
    oracle = x.astype(ml_dtypes.bfloat16).astype(np.float32)
    nan = np.isnan(x)
    assert np.isnan(ours[nan]).all()
    np.testing.assert_array_equal(ours[~nan].view(np.uint32), oracle[~nan].view(np.uint32))


def test_round_bfloat16_by_hand():
    """Ties go to the even upper half; a round-up carries into the exponent; past the largest bfloat16 is inf."""
    cases = {0x3F808000: 0x3F800000, 0x3F818000: 0x3F820000, 0x3F808001: 0x3F810000, 0x3FFFFFFF: 0x40000000,
             0x7F7FFFFF: 0x7F800000, 0x7F7F7FFF: 0x7F7F0000}
    x = np.array(list(cases), np.uint32).view(np.float32)
    np.testing.assert_array_equal(round_bfloat16(x).view(np.uint32), np.array(list(cases.values()), np.uint32))
    assert round_bfloat16(x.reshape(2, 3)).shape == (2, 3)


def test_rounded_gru_values_are_representable_and_close():
    """Every value the float16/bfloat16 GRU returns is exactly representable; it stays near float32."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 7, 4)).astype(np.float32)
    w = [rng.uniform(-0.6, 0.6, s).astype(np.float32) for s in [(4, 9), (3, 9), (2, 9)]]
    exact = refgru.gru(x, w, return_sequences=True)
    for compute, q, tol in (("float16", round_float16, 5e-3), ("bfloat16", round_bfloat16, 4e-2)):
        out = refgru.gru(x, w, return_sequences=True, compute_dtype=compute)
        np.testing.assert_array_equal(out, q(out))
        assert 0 < np.abs(out - exact).max() < tol
        traced = refgru.trace(x, w, compute_dtype=compute)
        np.testing.assert_array_equal(traced.h, out)
        np.testing.assert_array_equal(refgru.gru_step(x[:, 0], np.zeros((3, 3)), w, compute_dtype=compute),
                                      out[:, 0])
    with pytest.raises(refgru.RefgruError, match="compute_dtype"):
        refgru.gru(x, w, compute_dtype="int8")


# --- TensorFlow's CPU ops in float16/bfloat16, pinned ------------------------------------------------

def test_tensorflow_cpu_ops_in_reduced_precision():
    """The facts refgru.core.precision builds on: float32-accumulated matmul, correctly rounded tanh,
    sigmoid as e / (1 + e) computed in the compute dtype."""
    tf = pytest.importorskip("tensorflow")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(2)
    for dtype, q in ((np.float16, round_float16), (ml_dtypes.bfloat16, round_bfloat16)):
        a, b = q(rng.normal(size=(8, 300))), q(rng.normal(size=(300, 16)))
        got = tf.matmul(a.astype(dtype), b.astype(dtype)).numpy().astype(np.float32)
        np.testing.assert_array_equal(got, q(a @ b))
        x = q(np.linspace(-14, 14, 9001, dtype=np.float32))
        np.testing.assert_array_equal(tf.tanh(x.astype(dtype)).numpy().astype(np.float32), q(np.tanh(x)))
        np.testing.assert_array_equal(tf.sigmoid(x.astype(dtype)).numpy().astype(np.float32),
                                      rounded_activation(sigmoid, q)(x))


# --- Keras models saved under mixed precision --------------------------------------------------------

def _models(lib):
    """``name -> (policy, build(rng) -> (model, steps))`` for ``lib`` (keras or tf_keras)."""
    from model_zoo import ids, masked_input, normal, randomize

    L = lib.layers

    def emb_gru_dense(rng):
        model = lib.Sequential([lib.Input((6,), dtype="int32"), L.Embedding(10, 4, mask_zero=True), L.GRU(5),
                                L.Dense(4, activation="relu"), L.Dense(3, activation="softmax", dtype="float32")])
        return randomize(model, rng), [("predict", ids(rng, batch=4))]

    def bidirectional(rng):
        model = lib.Sequential([lib.Input((5, 3)), L.Masking(), L.Bidirectional(L.GRU(4, return_sequences=True)),
                                L.GRU(3, reset_after=False), L.Dense(2, activation="sigmoid")])
        return randomize(model, rng), [("predict", masked_input(rng, batch=4))]

    def conv_gru(rng):
        model = lib.Sequential([lib.Input((8, 3)), L.Conv1D(4, 3, padding="causal", activation="relu"),
                                L.GRU(5, return_sequences=True), L.Dense(2)])
        return randomize(model, rng), [("predict", normal(rng, 4, 8, 3))]

    def float16_layers(rng):  # global policy float32; each layer dtype="float16"
        model = lib.Sequential([lib.Input((6, 3)), L.GRU(5, dtype="float16"), L.Dense(2, dtype="float16")])
        return randomize(model, rng), [("predict", normal(rng, 4, 6, 3))]

    found = {f"{p}-{f.__name__}": (p, f) for p in POLICIES for f in (emb_gru_dense, bidirectional, conv_gru)}
    found["float32-float16_layers"] = ("float32", float16_layers)
    return found


MODEL_NAMES = ("emb_gru_dense", "bidirectional", "conv_gru")
EXTS = (".keras", ".h5")
IDS = [f"{lib}/{p}-{name}{ext}" for lib in LIBS for p in POLICIES for name in MODEL_NAMES for ext in EXTS] \
    + [f"{lib}/float32-float16_layers{ext}" for lib in LIBS for ext in EXTS]


def build(directory, lib_name):
    """Builder process: every model of :func:`_models` under its policy, saved, with Keras's results."""
    import importlib

    import model_runs
    import model_zoo

    to_numpy = model_runs._numpy

    def widened(out):  # a bfloat16 output (ml_dtypes) widens exactly to float32, which .npz can store
        out = to_numpy(out)
        return out.astype(np.float32) if isinstance(out, np.ndarray) and out.dtype.name == "bfloat16" else out
    model_runs._numpy = widened
    lib = importlib.import_module(lib_name)
    for name, (policy, fn) in _models(lib).items():
        def builder(lib_, rng, policy=policy, fn=fn):
            lib_.mixed_precision.set_global_policy(policy)
            try:
                return fn(rng)
            finally:
                lib_.mixed_precision.set_global_policy("float32")
        model_zoo.ZOO[name] = builder
    jobs, expected = model_runs.build_zoo(directory, [(lib_name, name) for name in _models(lib)])
    model_runs.write_group(directory, lib_name, jobs, expected)


def _run(cmd, log):
    path = os.pathsep.join([os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", "PYTHONPATH": path}
    with open(log, "w") as handle:
        return subprocess.Popen(cmd, cwd=HERE, env=env, stdout=handle, stderr=subprocess.STDOUT)


def _wait(proc, log):
    if proc.wait(timeout=900):
        with open(log) as handle:
            pytest.fail(f"{' '.join(proc.args[:3])} failed:\n{handle.read()[-4000:]}")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``(ours, keras)``: the NumPy-side and Keras results (``model_runs`` layout) for every id."""
    pytest.importorskip("keras")
    pytest.importorskip("tf_keras")
    pytest.importorskip("h5py")
    import model_runs

    directory = str(tmp_path_factory.mktemp("mixed"))
    procs = [(_run([sys.executable, __file__, directory, lib], os.path.join(directory, f"{lib}.log")),
              os.path.join(directory, f"{lib}.log")) for lib in LIBS]
    for proc, log in procs:
        _wait(proc, log)
    jobs, keras = [], {}
    for lib in LIBS:
        with open(os.path.join(directory, f"{lib}-jobs.json")) as handle:
            jobs += json.load(handle)
        with np.load(os.path.join(directory, f"{lib}-expected.npz")) as data:
            keras.update({k: data[k] for k in data.files})
    manifest, out = os.path.join(directory, "jobs.json"), os.path.join(directory, "ours.npz")
    with open(manifest, "w") as handle:
        json.dump(jobs, handle)
    code = model_runs.BLOCKER + f"import model_runs\nmodel_runs.numpy_side({manifest!r}, {out!r})\n"
    log = os.path.join(directory, "numpy.log")
    _wait(_run([sys.executable, "-c", code], log), log)
    with np.load(out) as data:
        ours = {k: data[k] for k in data.files}
    assert str(ours["|blocked"]) == ",".join(model_runs.BLOCKED) and str(ours["|leaked_modules"]) == ""
    return ours, keras


@pytest.mark.parametrize("key", IDS)
def test_mixed_precision_model_matches_keras(runs, key):
    ours, keras = runs
    assert f"{key}|error" not in ours, str(ours.get(f"{key}|error"))
    assert str(ours[f"{key}|sig"]) == str(keras[f"{key}|sig"])
    leaves = [k for k in keras if k.startswith(f"{key}|") and not k.endswith("|sig")]
    assert leaves
    for leaf in leaves:
        expected, got = keras[leaf].astype(np.float64), ours[leaf].astype(np.float64)
        assert got.shape == expected.shape
        error = np.abs(got - expected).max() / max(1.0, np.abs(expected).max())
        print(f"{leaf}: max relative difference {error:.3g}")  # the measured numbers (pytest -s)
        assert error <= TOLERANCE, (leaf, error)


def test_summary_and_explain_on_a_mixed_model(tmp_path):
    """``summary`` and ``explain`` of a mixed_float16 GRU model: float32 variables, options with the policy,
    and a trace that equals the layer's output."""
    keras = pytest.importorskip("keras")
    from model_zoo import normal, randomize

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = randomize(keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(4, return_sequences=True)]),
                          np.random.default_rng(3))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    path = str(tmp_path / "m.keras")
    model.save(path)
    x = normal(np.random.default_rng(4), 2, 5, 3)
    expected = np.asarray(model(x)).astype(np.float32)
    ours = refgru.load_model(path)
    ((label, w, options),) = ours.gru_layers()
    assert options["compute_dtype"] == "float16" and w.dtype == np.float32
    np.testing.assert_array_equal(w.kernel, model.layers[0].get_weights()[0])
    assert "float32" in str(refgru.explain(ours))
    text = ours.summary(print_fn=lambda *_: None)
    assert "gru" in str(text).lower()
    traced = refgru.trace(x, w, **options)
    np.testing.assert_array_equal(traced.h, ours.predict(x))
    assert np.abs(traced.h - expected).max() <= TOLERANCE * max(1, np.abs(expected).max())
    result = subprocess.run([sys.executable, "-m", "refgru", "summary", path], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": os.path.dirname(HERE)})
    assert result.returncode == 0, result.stderr
    result = subprocess.run([sys.executable, "-m", "refgru", "explain", path], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": os.path.dirname(HERE)})
    assert result.returncode == 0 and "float32" in result.stdout, result.stderr


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    build(sys.argv[1], sys.argv[2])
