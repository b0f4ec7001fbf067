"""Bounded fuzzing in the normal suite: mutated model files and hostile arrays give a correct result or a
``RefgruError``, never another exception, a hang or a crash.

The valid files are built by hand (tests/tiny_files.py), so this runs without TensorFlow. Each example
runs under a ``signal.alarm`` of ``TIMEOUT`` seconds. ``benchmarks/fuzz_atheris.py`` is the long run.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import signal
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiny_files import GRU_ARRAYS, X, expected, h5_bytes, keras_bytes, keras_config

import refgru

pytest.importorskip("h5py")

TIMEOUT = 10
KERAS, H5 = keras_bytes(), h5_bytes()
EXPECTED = expected()
FUZZ = settings(max_examples=int(os.environ.get("REFGRU_FUZZ_EXAMPLES", "120")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class Hang(Exception):
    """An example ran longer than TIMEOUT seconds."""


@contextlib.contextmanager
def time_limit(seconds: int = TIMEOUT):
    def alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    # signal.alarm cannot interrupt a loop inside libhdf5 (see docs/security.md): as a backstop, a hang
    # in native code ends the test process with every thread's traceback instead of blocking the suite.
    faulthandler.dump_traceback_later(3 * seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def load_and_predict(data: bytes, path):
    """``(result, None)`` or ``(None, RefgruError)``; any other exception propagates and fails the test."""
    path.write_bytes(data)
    with time_limit():
        try:
            return refgru.load_model(path).predict(X), None
        except refgru.RefgruError as exc:
            assert str(exc) and "\n" not in str(exc).split(":")[0]
            return None, exc


def leaves(result):
    return [np.asarray(r) for r in result] if isinstance(result, (list, tuple)) else [np.asarray(result)]


@FUZZ
@given(position=st.integers(0, len(KERAS) - 1), xor=st.integers(1, 255))
def test_keras_byte_flip(tmp_path, position, xor):
    """One flipped byte: zip CRCs cover every member, so a load that succeeds gives the original numbers."""
    data = bytearray(KERAS)
    data[position] ^= xor
    result, _ = load_and_predict(bytes(data), tmp_path / "m.keras")
    if result is not None:
        np.testing.assert_array_equal(result, EXPECTED)


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(H5) - 1), st.integers(1, 255)), min_size=1, max_size=4))
def test_h5_byte_flips(tmp_path, flips):
    """HDF5 has no checksums on raw data, so a flip can change a weight (even to 1e38, whose products
    overflow): a load that succeeds must give float arrays; anything else must be a RefgruError."""
    data = bytearray(H5)
    for position, xor in flips:
        data[position] ^= xor
    result, _ = load_and_predict(bytes(data), tmp_path / "m.h5")
    if result is not None:
        assert all(leaf.dtype.kind == "f" for leaf in leaves(result))


@FUZZ
@given(which=st.sampled_from(["keras", "h5"]), fraction=st.floats(0, 1, exclude_max=True))
def test_truncation(tmp_path, which, fraction):
    original = KERAS if which == "keras" else H5
    result, error = load_and_predict(original[: int(len(original) * fraction)], tmp_path / "m.bin")
    assert result is None and error is not None  # every truncation loses the zip directory or the HDF5 eof


JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False)
                    | st.text(max_size=8) | st.sampled_from(["GRU", "Lambda", "keras.layers", "tanh", "float64"]),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)


def _paths(node, prefix=()):
    """Every (path, value) in a parsed config."""
    yield prefix, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _paths(value, prefix + (key,))


CONFIG_PATHS = [path for path, _ in _paths(keras_config()) if path]


@FUZZ
@given(path=st.sampled_from(CONFIG_PATHS), value=JSON, delete=st.booleans(),
       metadata=st.sampled_from([None, {"keras_version": "2.21.0"}, {"keras_version": "4.0.0"}, {}, []]))
def test_config_edits(tmp_path, path, value, delete, metadata):
    """Replace or delete one entry of config.json: the result is a RefgruError or finite float arrays."""
    config = keras_config()
    node = config
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    result, _ = load_and_predict(keras_bytes(config=config, metadata=metadata), tmp_path / "m.keras")
    if result is not None:
        assert all(leaf.dtype.kind == "f" for leaf in leaves(result))


@FUZZ
@given(text=st.text(max_size=40) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
       at=st.integers(0, len(json.dumps(keras_config()))))
def test_config_text_splice(tmp_path, text, at):
    """Arbitrary text spliced into the JSON of config.json."""
    raw = json.dumps(keras_config())
    result, _ = load_and_predict(keras_bytes(config=raw[:at] + text + raw[at:]), tmp_path / "m.keras")
    if result is not None:
        assert all(leaf.dtype.kind == "f" for leaf in leaves(result))


DTYPES = ["<f4", ">f4", "<f8", ">f8", "<f2", "<i4", ">i8", "|u1", "|b1", "<c8", "O", "<U3", "<M8[s]"]


@FUZZ
@given(shape=st.lists(st.integers(0, 3), min_size=0, max_size=4), dtype=st.sampled_from(DTYPES),
       special=st.sampled_from([None, np.nan, np.inf, -np.inf]), order=st.sampled_from(["C", "F", "strided"]),
       as_list=st.booleans(), seed=st.integers(0, 2**16))
def test_random_arrays(shape, dtype, special, order, as_list, seed):
    """Any array as ``x``: a RefgruError, or exactly the result of the same values as a native C array."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=shape)
    if special is not None and values.size:
        values.flat[rng.integers(values.size)] = special
    with np.errstate(invalid="ignore", over="ignore"):
        x = values.astype(dtype) if dtype not in ("<U3", "<M8[s]") else np.zeros(shape, dtype)
    if order == "F":
        x = np.asfortranarray(x)
    elif order == "strided" and x.ndim:
        x = np.repeat(x, 2, axis=-1)[..., ::2]
    given_x = x.tolist() if as_list else x
    with time_limit():
        try:
            result = refgru.gru(given_x, GRU_ARRAYS, return_sequences=True)
        except refgru.RefgruError:
            return
    native = np.ascontiguousarray(np.asarray(given_x).astype(np.asarray(given_x).dtype.newbyteorder("=")))
    assert result.dtype.isnative and np.isfinite(result).all()
    np.testing.assert_array_equal(result, refgru.gru(native, GRU_ARRAYS, return_sequences=True))


@FUZZ
@given(which=st.integers(0, 2), special=st.sampled_from([np.nan, np.inf]), big_endian=st.booleans())
def test_hostile_weights(which, special, big_endian):
    """NaN or inf anywhere in the weights is refused, naming the array, also in big-endian byte order."""
    arrays = [a.astype(">f4") if big_endian else a.copy() for a in GRU_ARRAYS]
    arrays[which][0, 0] = special
    name = ["kernel", "recurrent_kernel", "bias"][which]
    with pytest.raises(refgru.RefgruError, match=f"^{name}: expected finite values"):
        refgru.gru(X, arrays)


def test_zip_stored_and_deflated_agree(tmp_path):
    """Sanity check of the unmutated files the fuzzers start from."""
    for data in (KERAS, H5, keras_bytes(compression=zipfile.ZIP_DEFLATED)):
        result, error = load_and_predict(data, tmp_path / "m.bin")
        assert error is None
        np.testing.assert_array_equal(result, EXPECTED)
