"""Hostile model files, one per attack class of issue 12, each built here with h5py or raw bytes.

Every load runs in a child Python with a wall-clock timeout and an address-space limit (``RLIMIT_AS``), so a
regression (a hang, a memory bomb) fails one test instead of taking the suite down. The child prints one
line: ``REFUSED <message>`` (a RefgruError), ``LOADED`` or ``OTHER <type> <message>`` (any other exception).
"""

from __future__ import annotations

import io
import json
import os
import resource
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest
from tiny_files import GRU_ARRAYS, X, expected, h5_bytes, h5_config, keras_bytes, keras_config, keras_weights_bytes

import refgru

h5py = pytest.importorskip("h5py")

TIMEOUT = 60                     # seconds for one child, import included
ADDRESS_SPACE = 1536 << 20       # RLIMIT_AS of the child: a memory bomb fails with MemoryError, not the machine
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = """
import sys, numpy as np, refgru
x = np.load(sys.argv[2])
try:
    refgru.load_model(sys.argv[1]).predict(x)
except refgru.RefgruError as exc:
    print("REFUSED", exc)
except BaseException as exc:
    print("OTHER", type(exc).__name__, str(exc)[:300].replace(chr(10), " "))
else:
    print("LOADED")
"""


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def load_isolated(tmp_path, data: bytes | None = None, path: str | None = None, x: np.ndarray = X) -> str:
    """The one line the child prints for loading ``data`` (or ``path``) and predicting ``x``."""
    if path is None:
        path = str(tmp_path / "hostile.bin")
        with open(path, "wb") as handle:
            handle.write(data)
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "PYTHONPATH": ROOT, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", CHILD, path, str(tmp_path / "x.npy")], capture_output=True,
                            text=True, timeout=TIMEOUT, preexec_fn=_limit, env=env)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and len(lines) == 1, (result.returncode, result.stdout, result.stderr[-2000:])
    return lines[0]


def refused(tmp_path, data: bytes | None, *fragments: str, path: str | None = None, x: np.ndarray = X) -> str:
    line = load_isolated(tmp_path, data, path, x)
    assert line.startswith("REFUSED "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def edit_weights(edit) -> bytes:
    """A ``.keras`` file whose ``model.weights.h5`` went through ``edit(h5py.File)``."""
    buffer = io.BytesIO(keras_weights_bytes())
    with h5py.File(buffer, "r+") as f:
        edit(f)
    return keras_bytes(weights=buffer.getvalue())


def edit_h5(edit, config: dict | None = None) -> bytes:
    buffer = io.BytesIO(h5_bytes(config=config))
    with h5py.File(buffer, "r+") as f:
        edit(f)
    return buffer.getvalue()


KERNEL = "layers/gru/cell/vars/0"


# --- other files are never opened -------------------------------------------------------------------

def test_external_link_to_a_fifo_is_refused_not_followed(tmp_path):
    """libhdf5 opens an external link's target (a FIFO blocks it forever); refgru refuses the link by name."""
    fifo = tmp_path / "fifo.h5"
    os.mkfifo(fifo)

    def kernel(f):
        del f[KERNEL]
        f[KERNEL] = h5py.ExternalLink(str(fifo), "w")
    refused(tmp_path, edit_weights(kernel), f"'/{KERNEL}'", "external link")

    def group(f):
        del f["model_weights/gru"]
        f["model_weights/gru"] = h5py.ExternalLink(str(fifo), "/")
    refused(tmp_path, edit_h5(group), "'/model_weights/gru'", "external link")


def test_fifo_and_proc_mem_as_the_source(tmp_path):
    fifo = tmp_path / "model.keras"
    os.mkfifo(fifo)
    refused(tmp_path, None, "regular", "FIFO", path=str(fifo))
    refused(tmp_path, None, "/proc/self/mem", path="/proc/self/mem")


def test_external_storage_is_refused_before_pyfive_reads_zeros(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(18, "float32").tobytes())

    def external(f):
        del f[KERNEL]
        f.create_dataset(KERNEL, shape=(3, 6), dtype="float32", external=[(str(secret), 0, 72)])
    refused(tmp_path, edit_weights(external), f"'/{KERNEL}'", "external storage")


def test_virtual_dataset_is_refused(tmp_path):
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f["w"] = GRU_ARRAYS[0]

    def virtual(f):
        del f[KERNEL]
        layout = h5py.VirtualLayout(shape=(3, 6), dtype="float32")
        layout[:] = h5py.VirtualSource(str(source), "w", shape=(3, 6))
        f.create_virtual_dataset(KERNEL, layout)
    refused(tmp_path, edit_weights(virtual), f"'/{KERNEL}'", "virtual dataset")


def test_soft_links_that_loop_or_climb_are_refused(tmp_path):
    def loop(f):
        del f[KERNEL]
        f["layers/gru/cell/vars/a"] = h5py.SoftLink("/layers/gru/cell/vars/b")
        f["layers/gru/cell/vars/b"] = h5py.SoftLink("/layers/gru/cell/vars/a")
        f[KERNEL] = h5py.SoftLink("/layers/gru/cell/vars/a")
    refused(tmp_path, edit_weights(loop), "soft links in a row", "loop")

    def climb(f):
        del f[KERNEL]
        f[KERNEL] = h5py.SoftLink("/../../etc/passwd")
    refused(tmp_path, edit_weights(climb), "expected a path inside the file")

    def inside(f):  # a soft link inside the file is followed
        f["moved"] = f[KERNEL][()]
        del f[KERNEL]
        f[KERNEL] = h5py.SoftLink("/moved")
    assert load_isolated(tmp_path, edit_weights(inside)) == "LOADED"


def test_unknown_filter_is_refused_without_a_plugin_search(tmp_path):
    def lzf(f):
        del f[KERNEL]
        f.create_dataset(KERNEL, data=GRU_ARRAYS[0], chunks=(1, 6), compression="lzf")
    refused(tmp_path, edit_weights(lzf), f"'/{KERNEL}'", "filter id 32000")


def test_gzip_shuffle_fletcher32_chunks_are_read(tmp_path):
    """The filters libhdf5 always has are decoded (in bounded memory), and give the same numbers."""
    path = tmp_path / "gzip.keras"

    def gzip(f):
        for i, array in enumerate(GRU_ARRAYS):
            del f[f"layers/gru/cell/vars/{i}"]
            f.create_dataset(f"layers/gru/cell/vars/{i}", data=array, chunks=(1, 4), compression="gzip",
                             shuffle=True, fletcher32=True)
    path.write_bytes(edit_weights(gzip))
    np.testing.assert_allclose(refgru.load_model(path).predict(X), expected(), rtol=1e-5, atol=1e-6)


# --- memory bombs -------------------------------------------------------------------------------------

def _point_all_strings_at_one(data: bytes, count: int, small: int, big: int) -> bytes:
    """Rewrite the ``count`` heap references (16 bytes each: length, collection, index) of an attribute so that
    all point at its one ``big``-byte string: a file of a few KB then declares ``count * big`` bytes."""
    data = bytearray(data)
    records = [m for m in range(len(data) - 16) if struct.unpack_from("<I", data, m)[0] == big
               and data[struct.unpack_from("<Q", data, m + 4)[0]:][:4] == b"GCOL"]
    assert records, "no reference to the big string"
    target = bytes(data[records[0]:records[0] + 16])
    start = records[0] + 16
    for i in range(count - 1):
        at = start + 16 * i
        assert struct.unpack_from("<I", data, at)[0] == small
        data[at:at + 16] = target
    return bytes(data)


def test_variable_length_strings_sharing_one_heap_object(tmp_path):
    """2000 ``weight_names`` pointing at one 1 MiB string: 2 GB declared by a small file; refused from the
    declared lengths, before a string is read."""
    big, count = 1 << 20, 2000
    names = ["x" * big] + [f"n{i:04d}" for i in range(count - 1)]
    buffer = io.BytesIO(h5_bytes())
    with h5py.File(buffer, "r+") as f:
        f["model_weights/gru"].attrs["weight_names"] = np.array(names, dtype=h5py.string_dtype())
    data = _point_all_strings_at_one(buffer.getvalue(), count, 5, big)
    refused(tmp_path, data, "attribute 'weight_names'", "MAX_ATTRIBUTE_BYTES")


def test_unwritten_tiny_chunks(tmp_path):
    """GRU(400) weights stored as never-written ``(1, 1)`` chunks: a small file, refused by MAX_CHUNKS."""
    config = keras_config()
    config["config"]["layers"][1]["config"]["units"] = 400
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 4, 400]
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for i, shape in enumerate([(400, 1200), (400, 1200), (2, 1200)]):
            f.create_dataset(f"layers/gru/cell/vars/{i}", shape=shape, dtype="float32", chunks=(1, 1))
        f["layers/dense/vars/0"] = np.ones((400, 1), "float32")
        f["layers/dense/vars/1"] = np.ones(1, "float32")
    assert len(buffer.getvalue()) < 20_000
    refused(tmp_path, keras_bytes(config=config, weights=buffer.getvalue()), "MAX_CHUNKS", "480000 chunks")


def test_sparse_huge_kernel_is_refused_from_its_shape(tmp_path):
    """A 1 GiB kernel (never written, a few bytes on disk) where the config wants ``(3, 6)``."""
    def sparse(f):
        del f[KERNEL]
        f.create_dataset(KERNEL, shape=(1 << 15, 1 << 13), dtype="float32", chunks=(1024, 1024))
    refused(tmp_path, edit_weights(sparse), "expected kernel ('?', 6)", "(32768, 8192)")


def test_one_dataset_listed_many_times(tmp_path):
    """``weight_names`` listing one 48 MiB dataset 40 times is refused by the count, before any read."""
    def many(f):
        group = f["model_weights/gru"]
        group.create_dataset("big", shape=(3, 4 << 20), dtype="float32", chunks=(1, 1 << 16))
        group.attrs["weight_names"] = [b"big"] * 40
    refused(tmp_path, edit_h5(many), "layer 'gru' (GRU) weights", "got 40 arrays")


def test_config_numbers_that_overflow_or_explode(tmp_path):
    def with_layer(layer: dict) -> bytes:
        config = keras_config()
        config["config"]["layers"].insert(2, layer)
        return keras_bytes(config=json.dumps(config))
    cases = [({"class_name": "GRU", "config": {"name": "gru2", "units": float("inf")}}, "expected a finite number"),
             ({"class_name": "RepeatVector", "config": {"name": "r", "n": 10**12}}, "MAX_CONFIG_INT"),
             ({"class_name": "Reshape", "config": {"name": "r", "target_shape": [float("inf")]}}, "finite"),
             ({"class_name": "Embedding", "config": {"name": "e", "input_dim": float("-inf"), "output_dim": 2}},
              "finite"),
             ({"class_name": "Dense", "config": {"name": "d", "units": 2, "dtype": "S2000000000"}},
              "dtype: expected one of")]
    for layer, fragment in cases:
        refused(tmp_path, with_layer(layer), fragment)
    config = keras_config()  # Keras 3 op nodes: a huge axis, a huge dtype, an out= keyword
    config["class_name"] = "Functional"
    layers = config["config"]["layers"]
    for previous, layer in zip(layers, layers[1:], strict=False):
        layer["name"] = layer["config"]["name"]
        layer["inbound_nodes"] = [{"args": [_tensor(previous["config"]["name"])], "kwargs": {}}]
    layers[0]["name"], layers[0]["inbound_nodes"] = "x", []
    config["config"].update(input_layers=[["x", 0, 0]], output_layers=[["dense", 0, 0]])
    for op, kwargs, fragment in [({"axis": 10**30}, {}, "MAX_CONFIG_INT"), ({"dtype": "S2000000000"}, {}, "dtype"),
                                 ({"axis": -1}, {"out": _tensor("x")}, "no keyword arguments")]:
        bad = json.loads(json.dumps(config))
        name = "expand" if "axis" in op else "cast"
        bad["config"]["layers"].append({"module": "keras.src.ops.numpy", "name": name,
                                        "class_name": "ExpandDims" if "axis" in op else "Cast",
                                        "config": {"name": name, **op},
                                        "inbound_nodes": [{"args": [_tensor("gru")], "kwargs": kwargs}]})
        refused(tmp_path, keras_bytes(config=bad), fragment)


def _tensor(layer: str) -> dict:
    return {"class_name": "__keras_tensor__", "config": {"shape": [None, 2], "dtype": "float32",
                                                        "keras_history": [layer, 0, 0]}}


def test_names_in_messages_stay_on_one_line(tmp_path):
    config = keras_config()
    config["config"]["layers"][1]["class_name"] = "Evil\nClass\r\u2028"
    line = refused(tmp_path, keras_bytes(config=config), "Evil\\nClass")
    assert "\u2028" not in line


# --- what a load touches, and loads at the same time -----------------------------------------------------

AUDIT = """
import sys, numpy as np, refgru
path, x = sys.argv[1], np.load(sys.argv[2])
refgru.load_model(path).predict(x)  # warm: the first HDF5 read imports pyfive
seen = []
def hook(event, args):
    if event in ("open", "os.open") and args[0] not in (path,):
        seen.append((event, str(args[0])))
    elif event in ("import", "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.fork", "ctypes.dlopen"):
        seen.append((event, str(args[0])))
sys.addaudithook(hook)
refgru.load_model(path).predict(x)
with open(path, "rb") as handle:
    data = handle.read()
seen = [s for s in seen if s[1] != path]
refgru.load_model(data).predict(x)
import io
refgru.load_model(io.BytesIO(data)).predict(x)
print(seen)
"""


@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_audit_a_load_opens_only_the_source_and_imports_nothing(tmp_path, kind):
    path = tmp_path / f"m.{kind}"
    path.write_bytes(keras_bytes() if kind == "keras" else h5_bytes())
    np.save(tmp_path / "x.npy", X)
    result = subprocess.run([sys.executable, "-c", AUDIT, str(path), str(tmp_path / "x.npy")], capture_output=True,
                            text=True, timeout=TIMEOUT, env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", result.stdout


def test_concurrent_loads_never_refuse_a_healthy_file(tmp_path):
    """No wall-clock limit anywhere: 8 threads loading at once all succeed, with the same numbers."""
    data = {"keras": keras_bytes(), "h5": h5_bytes()}
    results, errors = [], []

    def work(kind):
        try:
            for _ in range(5):
                results.append(refgru.load_model(data[kind]).predict(X))
        except Exception as exc:  # noqa: BLE001  (collected and asserted below)
            errors.append(exc)
    threads = [threading.Thread(target=work, args=("keras" if i % 2 else "h5",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 40
    for r in results:
        np.testing.assert_allclose(r, expected(), rtol=1e-5, atol=1e-6)


def test_sources_bytes_path_and_file_object_agree(tmp_path):
    data = h5_bytes(config=h5_config())
    (tmp_path / "m.h5").write_bytes(data)
    outs = [refgru.load_model(s).predict(X) for s in (data, tmp_path / "m.h5", str(tmp_path / "m.h5"),
                                                    io.BytesIO(data), bytearray(data))]
    for out in outs:
        np.testing.assert_allclose(out, expected(), rtol=1e-5, atol=1e-6)
    for bad in (12, None, io.StringIO("text")):
        with pytest.raises(refgru.RefgruError, match="source: expected"):
            refgru.load_model(bad)


# --- the command line ---------------------------------------------------------------------------------

def test_cli_on_hostile_files_prints_one_line(tmp_path):
    config = keras_config()
    config["config"]["layers"].insert(2, {"class_name": "RepeatVector", "config": {"name": "r", "n": 10**12}})
    (tmp_path / "bomb.keras").write_bytes(keras_bytes(config=config))

    def external(f):
        del f[KERNEL]
        f[KERNEL] = h5py.ExternalLink("/etc/passwd", "w")
    (tmp_path / "link.keras").write_bytes(edit_weights(external))
    np.save(tmp_path / "x.npy", X)
    for args in [("predict", "bomb.keras", "x.npy"), ("summary", "link.keras"), ("predict", "link.keras", "x.npy"),
                 ("summary", "/proc/self/mem")]:
        out = subprocess.run([sys.executable, "-m", "refgru", *args], capture_output=True, text=True, cwd=tmp_path,
                             timeout=TIMEOUT, env={**os.environ, "PYTHONPATH": ROOT}, preexec_fn=_limit)
        lines = out.stderr.strip().splitlines()
        assert out.returncode != 0 and len(lines) == 1 and "Traceback" not in out.stderr, (args, out.stderr)


# --- real files ----------------------------------------------------------------------------------------

REAL = "/work/shared/realworld/trafficflow_gru_keras214.h5"


@pytest.mark.skipif(not os.path.exists(REAL), reason="the shared real-world files are not on this machine")
def test_real_2018_keras_file_reads_as_h5py_reads_it():
    """pyfive + refgru's adapter read every weight of a standalone Keras 2.1.4 file exactly as libhdf5 does."""
    model = refgru.load_model(REAL)
    with h5py.File(REAL, "r") as f:
        for layer in model.layers:
            group = f["model_weights"].get(layer.name)
            names = [n.decode() for n in group.attrs["weight_names"]] if group is not None else []
            assert len(names) == len(layer.weights)
            for name, array in zip(names, layer.weights, strict=True):
                np.testing.assert_array_equal(np.asarray(array), group[name][()])
    x = np.load(os.path.join(os.path.dirname(REAL), "trafficflow_test_windows.npy"))[:16]
    assert model.predict(x).shape == (16, 1)


NO_H5PY = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'h5py', 'tensorflow', 'keras', 'tf_keras', 'torch'}:
            raise ImportError('blocked for this test: ' + name)
sys.meta_path.insert(0, Block())
import numpy as np, refgru
for path in sys.argv[1:3]:
    print(refgru.load_model(path).predict(np.load(sys.argv[3])).ravel().tolist())
"""


def test_loading_needs_neither_h5py_nor_libhdf5(tmp_path):
    """The runtime reads both formats with NumPy and pyfive only: h5py is blocked in the child."""
    (tmp_path / "m.keras").write_bytes(keras_bytes())
    (tmp_path / "m.h5").write_bytes(h5_bytes())
    np.save(tmp_path / "x.npy", X)
    result = subprocess.run([sys.executable, "-c", NO_H5PY, str(tmp_path / "m.keras"), str(tmp_path / "m.h5"),
                             str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=TIMEOUT,
                            env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr[-2000:]
    for line in result.stdout.strip().splitlines():
        np.testing.assert_allclose(json.loads(line), expected().ravel(), rtol=1e-5, atol=1e-6)
