"""Hostile and broken model files: each gives a one-line RefgruError, in bounded time and memory, and
nothing from the file is executed. The files are built by hand (tests/tiny_files.py), without TensorFlow.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from tiny_files import GRU_ARRAYS, X, expected, h5_bytes, keras_bytes, keras_config, keras_weights_bytes

import refgru
from refgru.model import files

h5py = pytest.importorskip("h5py")

SECONDS = 10


def refused(tmp_path, data: bytes, *fragments: str, name: str = "m.bin", predict: bool = False) -> str:
    """Load ``data`` (and predict when asked): it must raise a one-line RefgruError holding ``fragments``,
    within SECONDS seconds."""
    path = tmp_path / name
    path.write_bytes(data)

    def alarm(signum, frame):
        raise AssertionError(f"no answer within {SECONDS} s")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(SECONDS)
    try:
        with pytest.raises(refgru.RefgruError) as info:
            model = refgru.load_model(path)
            if predict:
                model.predict(X)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    message = str(info.value)
    assert "\n" not in message and len(message) < 2000, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_valid_files_load(tmp_path):
    for name, data in [("m.keras", keras_bytes()), ("m.h5", h5_bytes())]:
        (tmp_path / name).write_bytes(data)
        np.testing.assert_array_equal(refgru.load_model(tmp_path / name).predict(X), expected())


# --- damaged containers -----------------------------------------------------------------------------

@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_files(tmp_path, fraction):
    for data, fragment in [(keras_bytes(), "expected"), (h5_bytes(), "expected")]:
        refused(tmp_path, data[: int(len(data) * fraction)], fragment)


def test_damaged_weights_member(tmp_path):
    refused(tmp_path, keras_bytes(weights=b"not hdf5"), "model.weights.h5: expected a readable HDF5 file")
    weights = keras_weights_bytes()
    refused(tmp_path, keras_bytes(weights=weights[: len(weights) // 2]), "model.weights.h5", "damaged")


def _patch_declared_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrite the uncompressed size ``member`` declares in the zip's central directory."""
    data = bytearray(data)
    at = data.find(b"PK\x01\x02" + data[data.find(b"PK\x01\x02") + 4: data.find(b"PK\x01\x02") + 4])
    while at != -1:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46: at + 46 + name_len] == member.encode():
            struct.pack_into("<I", data, at + 24, size)
            return bytes(data)
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(member)


@pytest.mark.parametrize("member, limit", [("config.json", "MAX_CONFIG_BYTES"),
                                           ("model.weights.h5", "MAX_FILE_BYTES")])
def test_huge_declared_member_size(tmp_path, member, limit):
    """A member declaring ~4 GiB is refused from its header: nothing is decompressed."""
    data = _patch_declared_size(keras_bytes(), member, 0xFFFFFFF0)
    refused(tmp_path, data, f"{member}: expected at most {getattr(files, limit)} bytes", "declaring 4294967280")


def test_member_larger_than_declared_is_cut_off(tmp_path, monkeypatch):
    """A header may lie: reading stops at the limit whatever it declares."""
    monkeypatch.setattr(files, "MAX_CONFIG_BYTES", 1000)
    config = keras_config()
    config["config"]["padding"] = "x" * 5000
    refused(tmp_path, keras_bytes(config=config), "config.json: expected at most 1000 bytes")


def test_zip_bomb_refused_in_bounded_memory(tmp_path):
    """20 MiB of zeros deflate to ~20 KiB: the compression ratio is refused before decompressing."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(keras_config()))
        archive.writestr("model.weights.h5", bytes(20 << 20))
    data = buffer.getvalue()
    assert len(data) < 100_000
    tracemalloc.start()
    try:
        start = time.perf_counter()
        refused(tmp_path, data, "model.weights.h5: expected a compression ratio of at most", "zip bomb")
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20 and elapsed < 2, (peak, elapsed)


@pytest.mark.parametrize("member", ["../../evil.txt", "/etc/evil", "C:evil", "a/../../evil", "..\\evil"])
def test_path_traversal_member_names(tmp_path, member):
    before = set(os.listdir(tmp_path.parent))
    refused(tmp_path, keras_bytes(members={member: b"x"}), "expected a .keras zip with plain member names", "evil")
    assert set(os.listdir(tmp_path.parent)) == before  # nothing is ever extracted


def test_duplicate_member_names(tmp_path):
    data = keras_bytes()
    buffer = io.BytesIO(data)
    with pytest.warns(UserWarning), zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("config.json", b"{}")  # a second config.json: which one would a reader take?
    refused(tmp_path, buffer.getvalue(), "plain member names", "config.json")


# --- config.json ------------------------------------------------------------------------------------

def test_missing_or_malformed_config(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.weights.h5", keras_weights_bytes())
    refused(tmp_path, buffer.getvalue(), "got one without config.json")
    refused(tmp_path, keras_bytes(config=b"{not json"), "config.json: expected JSON")
    refused(tmp_path, keras_bytes(config=b"\xff\xfe\x00"), "config.json: expected JSON")
    refused(tmp_path, keras_bytes(config=[1, 2]), "model config: expected a dict")
    refused(tmp_path, keras_bytes(config="null"), "model config: expected a dict")
    refused(tmp_path, h5_bytes(config="{x"), "model_config: expected JSON")


@pytest.mark.parametrize("depth", [150, 5000, 200_000])
def test_deeply_nested_config(tmp_path, depth):
    """Nesting past MAX_CONFIG_DEPTH (and past Python's recursion limit) is a RefgruError, not a RecursionError."""
    for text in ["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth]:
        refused(tmp_path, keras_bytes(config=text), f"expected JSON nested at most {files.MAX_CONFIG_DEPTH} deep")
        refused(tmp_path, h5_bytes(config=text), "nested at most")
    config = keras_config()
    config["config"]["layers"][1]["config"]["deep"] = json.loads("[" * 120 + "]" * 120)
    refused(tmp_path, keras_bytes(config=config), "nested at most")


def test_enormous_config(tmp_path):
    config = keras_config()
    config["config"]["layers"][1]["config"]["padding"] = "x" * (files.MAX_CONFIG_BYTES + 1)
    refused(tmp_path, keras_bytes(config=config, compression=zipfile.ZIP_DEFLATED), "config.json: expected at most")


def _with_layer(**changes) -> dict:
    config = keras_config()
    config["config"]["layers"][1].update(changes)
    return config


@pytest.mark.parametrize("layer, fragment", [
    ({"class_name": "ConvLSTM1D"}, "expected a supported layer class"),
    ({"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAAAAAAAA", None, None]}},
     "a Lambda, which holds Python code"),
    ({"class_name": "TFOpLambda", "config": {"name": "t", "function": "math.add"}},
     "a TFOpLambda, which holds Python code"),
    ({"class_name": "Dense", "config": {"name": "d", "function_type": "lambda"}}, "which holds Python code"),
    ({"module": "evil_module", "class_name": "GRU"}, "a custom object from module 'evil_module'"),
    ({"registered_name": "Custom>GRU"}, "a custom object registered as 'Custom>GRU'"),
])
def test_code_and_unknown_layers_refused(tmp_path, layer, fragment):
    config = keras_config()
    if "config" in layer:
        config["config"]["layers"][1] = dict(layer, module="keras.layers")
    else:
        config["config"]["layers"][1].update(layer)
    refused(tmp_path, keras_bytes(config=config), fragment)


def test_nothing_from_the_file_is_imported_or_run(tmp_path):
    """A config naming a module on sys.path, and a nested custom activation, import nothing."""
    sentinel = tmp_path / "ran.txt"
    (tmp_path / "refgru_evil_probe.py").write_text(f"open({str(sentinel)!r}, 'w').write('ran')\n")
    code = f"""
import sys, refgru
sys.path.insert(0, {str(tmp_path)!r})
for path in sys.argv[1:]:
    try:
        refgru.load_model(path)
    except refgru.RefgruError:
        pass
print(sorted(m for m in sys.modules if 'evil' in m))
"""
    paths = []
    for i, layer in enumerate([{"module": "refgru_evil_probe"},
                               {"config": {"name": "gru", "units": 2, "activation": {
                                   "module": "refgru_evil_probe", "class_name": "f", "config": {}}}},
                               {"registered_name": "refgru_evil_probe>GRU"}]):
        path = tmp_path / f"m{i}.keras"
        path.write_bytes(keras_bytes(config=_with_layer(**layer)))
        paths.append(str(path))
    out = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]" and not sentinel.exists()


# --- config and weights that disagree ---------------------------------------------------------------

def test_config_and_weights_disagree(tmp_path):
    refused(tmp_path, keras_bytes(config=_with_layer(config={"name": "gru", "units": 3})),
            "layer 'gru' (GRU) weights: expected", "recurrent_kernel (3, 9)")
    refused(tmp_path, keras_bytes(weights=keras_weights_bytes(gru=GRU_ARRAYS[:2])), "layer 'gru'", "got 2 arrays")
    refused(tmp_path, keras_bytes(weights=keras_weights_bytes(gru=[GRU_ARRAYS[0][:2]] + GRU_ARRAYS[1:])),
            "layer 'gru'", "features = 2", predict=True)  # input_dim is checked against the input on predict
    refused(tmp_path, h5_bytes(gru=[GRU_ARRAYS[0][:, :3]] + GRU_ARRAYS[1:]), "layer 'gru'")
    refused(tmp_path, keras_bytes(weights=keras_weights_bytes(gru=[np.array([b"ab"])] + GRU_ARRAYS[1:])),
            "weights of layer 'gru'", "expected a numeric dataset", "|S2")
    refused(tmp_path, keras_bytes(weights=keras_weights_bytes(gru=[GRU_ARRAYS[0] * np.nan] + GRU_ARRAYS[1:])),
            "kernel: expected finite values")
    quantized = {"name": "gru", "units": 2, "reset_after": True, "dtype": "int8"}
    refused(tmp_path, keras_bytes(config=_with_layer(config=quantized)),
            "dtype: expected a dtype policy among float32")


def test_other_weight_dtypes_are_cast_like_keras(tmp_path):
    """Keras casts stored weights to the layer's dtype on load; so does refgru (float64 or big-endian
    storage for a float32 layer)."""
    for gru in ([a.astype("float64") for a in GRU_ARRAYS], [a.astype(">f4") for a in GRU_ARRAYS]):
        path = tmp_path / "m.keras"
        path.write_bytes(keras_bytes(weights=keras_weights_bytes(gru=gru)))
        result = refgru.load_model(path).predict(X)
        assert result.dtype == np.float32 and result.dtype.isnative
        np.testing.assert_allclose(result, expected(), rtol=1e-6)


# --- HDF5 structure ---------------------------------------------------------------------------------

def test_unexpected_groups_are_ignored(tmp_path):
    """Extra groups and attributes change nothing: only the paths Keras writes are read."""
    path = tmp_path / "m.h5"
    path.write_bytes(h5_bytes(extra_groups=("evil", "model_weights/zzz", "model_weights/gru/extra")))
    np.testing.assert_array_equal(refgru.load_model(path).predict(X), expected())


def _edit_weights(edit) -> bytes:
    buffer = io.BytesIO(keras_weights_bytes())
    with h5py.File(buffer, "r+") as f:
        edit(f)
    return keras_bytes(weights=buffer.getvalue())


def test_weight_that_is_a_group(tmp_path):
    def edit(f):
        del f["layers/gru/cell/vars/0"]
        f.create_group("layers/gru/cell/vars/0")
    refused(tmp_path, _edit_weights(edit), "weights of layer 'gru'", "expected an HDF5 dataset, got a group")


def test_external_storage_and_links_are_not_followed(tmp_path):
    """A dataset whose bytes live in another file (external storage), or an external link, is refused:
    a model file cannot make refgru read other files."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(18, "float32").tobytes())

    def external(f):
        del f["layers/gru/cell/vars/0"]
        f.create_dataset("layers/gru/cell/vars/0", shape=(3, 6), dtype="float32", external=[(str(secret), 0, 72)])
    refused(tmp_path, _edit_weights(external), "'/layers/gru/cell/vars/0'", "got external storage")

    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["w"] = GRU_ARRAYS[0]

    def link(f):
        del f["layers/gru/cell/vars/0"]
        f["layers/gru/cell/vars/0"] = h5py.ExternalLink(str(other), "w")
    refused(tmp_path, _edit_weights(link), "'/layers/gru/cell/vars/0'", "got an external link")


def test_huge_declared_dataset_is_not_read(tmp_path, monkeypatch):
    """A chunked dataset declaring 10**12 elements costs a few bytes on disk; it is refused from its shape."""
    def edit(f):
        del f["layers/gru/cell/vars/0"]
        f.create_dataset("layers/gru/cell/vars/0", shape=(10**6, 10**6), dtype="float32", chunks=(1, 16))
    refused(tmp_path, _edit_weights(edit), "expected kernel ('?', 6)", "(1000000, 1000000)")


def test_legacy_h5_without_model_config(tmp_path):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f["x"] = np.ones(3)
    refused(tmp_path, buffer.getvalue(), "expected a model saved with model.save()")
    buffer = io.BytesIO(h5_bytes())
    with h5py.File(buffer, "r+") as f:
        f.attrs["model_config"] = np.arange(3)
    refused(tmp_path, buffer.getvalue(), "model_config: expected JSON text")


# --- versions -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["4.0.0", "1.2.2", "banana", 3, [3]])
def test_unknown_keras_versions(tmp_path, version):
    """Files from Keras versions refgru does not know (a future 4.x, Keras 1) are refused, not guessed at.
    (A file without metadata.json, or with ``keras_version: null``, is read as Keras 3.)"""
    refused(tmp_path, keras_bytes(metadata={"keras_version": version}),
            "keras_version: expected a Keras 2.x or 3.x version")
    if isinstance(version, str):
        refused(tmp_path, h5_bytes(version=version), "keras_version: expected a Keras 2.x or 3.x version")


# --- the command line ---------------------------------------------------------------------------------

def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "refgru", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli_bad_files_and_arguments(tmp_path):
    (tmp_path / "bad.keras").write_bytes(keras_bytes(config="[" * 10000 + "]" * 10000))
    (tmp_path / "lambda.keras").write_bytes(keras_bytes(config=_with_layer(class_name="Lambda")))
    (tmp_path / "ok.keras").write_bytes(keras_bytes())
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "nan.npy", np.full_like(X, np.nan))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases = [(("predict", "bad.keras", "x.npy"), 1, "nested at most"),
             (("predict", "lambda.keras", "x.npy"), 1, "holds Python code"),
             (("predict", "ok.keras", "nan.npy"), 1, "expected finite values"),
             (("predict", "ok.keras", "obj.npy"), 1, "got dtype '|O'"),  # refused, without inviting allow_pickle
             (("predict", "missing.keras", "x.npy"), 1, "does not exist"),
             (("summary", "x.npy"), 1, "expected a Keras .keras zip or .h5"),
             (("predict",), 2, "required"),
             (("frobnicate",), 2, "invalid choice")]
    for args, code, fragment in cases:
        out = _cli(*args, cwd=tmp_path)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == code and len(lines) == 1 and fragment in lines[0], (args, out.returncode, out.stderr)
        assert lines[0].startswith("refgru"), lines
    debug = _cli("--debug", "predict", "bad.keras", "x.npy", cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr
    assert "RefgruError" in debug.stderr.strip().splitlines()[-1]


# --- a known hang inside libhdf5 (found by benchmarks/fuzz_atheris.py) -----------------------------

def _global_heap_free_space_shrunk(data: bytes) -> bytes:
    """Shrink the free-space object of the file's global heap collection (GCOL) by zeroing one byte of its
    size: libhdf5 1.14.6 then loops forever reading any variable-length string, here ``model_config``."""
    data = bytearray(data)
    at = data.find(b"GCOL")
    end, p = at + struct.unpack_from("<Q", data, at + 8)[0], at + 16
    while p < end:
        index, size = struct.unpack_from("<H", data, p)[0], struct.unpack_from("<Q", data, p + 8)[0]
        if index == 0:
            assert data[p + 9] != 0
            data[p + 9] = 0
            return bytes(data)
        p += 16 + (size + 7) // 8 * 8
    raise AssertionError("no free-space object in the global heap")


def test_corrupt_global_heap_is_refused_not_hung(tmp_path):
    """libhdf5 loops forever on this file; pyfive stops at the end of the collection, so refgru (in this
    process, with no probe) finishes at once: the heap's free-space size is not needed to read the strings."""
    path = tmp_path / "hang.h5"
    path.write_bytes(_global_heap_free_space_shrunk(h5_bytes()))
    code = (f"import refgru\ntry:\n    refgru.load_model({str(path)!r})\nexcept refgru.RefgruError as e:\n"
            "    print(e)\nelse:\n    print('loaded')\n")
    result = subprocess.run([sys.executable, "-c", code], timeout=60, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.count("\n") == 1, result.stdout + result.stderr
    assert result.stdout == "loaded\n" or ": expected " in result.stdout, result.stdout
