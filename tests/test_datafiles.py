"""refgru.datafiles: inputs and outputs round trip in chunks; every bad file is a one-line RefgruError, read bounded."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

from refgru import RefgruError
from refgru.datafiles import check_finite, open_input, open_output

RNG = np.random.default_rng(3)
X = RNG.normal(size=(23, 4, 3)).astype("float32")


def chunked(path, rows=5, **kwargs):
    with open_input(path, **kwargs) as reader:
        parts = [x for _, x in reader.chunks(rows)]
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


def one_line_error(match: str, fn, *args, **kwargs) -> str:
    with pytest.raises(RefgruError, match=match) as info:
        fn(*args, **kwargs)
    text = str(info.value)
    assert "\n" not in text and len(text) < 400, text
    return text


def test_npy_round_trip_native_and_big_endian(tmp_path):
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "b.npy", X.astype(">f4"))
    np.save(tmp_path / "i.npy", np.arange(12, dtype=">i8").reshape(4, 3))
    assert np.array_equal(chunked(tmp_path / "x.npy"), X)
    big = chunked(tmp_path / "b.npy")
    assert big.dtype == np.float32 and big.dtype.isnative and np.array_equal(big, X)
    assert np.array_equal(chunked(tmp_path / "i.npy", rows=3), np.arange(12).reshape(4, 3))


def test_npz_inputs_by_name_and_single(tmp_path):
    ids = RNG.integers(0, 9, size=(23, 4)).astype("int32")
    np.savez(tmp_path / "two.npz", ids=ids, x=X)
    np.savez_compressed(tmp_path / "one.npz", X)
    both = chunked(tmp_path / "two.npz", rows=4, names=["x", "ids"])
    assert list(both) == ["x", "ids"] and np.array_equal(both["x"], X) and np.array_equal(both["ids"], ids)
    assert np.array_equal(chunked(tmp_path / "one.npz", names=["seq"]), X)  # one array feeds a one-input model
    one_line_error(r"INPUT: expected arrays named \['a', 'x'\]", open_input, tmp_path / "two.npz", names=["a", "x"])


def test_csv_and_txt_rows_reshaped_to_declared_shape(tmp_path):
    np.savetxt(tmp_path / "x.csv", X.reshape(23, -1), delimiter=",", fmt="%.9g")
    with open(tmp_path / "x.txt", "w") as f:
        f.write("# a comment line\n\n")
        np.savetxt(f, X.reshape(23, -1), fmt="%.9g")
    for name, shape in [("x.csv", (4, 3)), ("x.csv", (None, 3)), ("x.txt", (4, None))]:
        with open_input(tmp_path / name, row_shape=shape) as reader:
            assert reader.n_rows == 23 and reader.row_shapes == {"x": (4, 3)}
        assert np.array_equal(chunked(tmp_path / name, row_shape=shape), X)
    (tmp_path / "ids.csv").write_text("1,2,3\n4,5,6\n")
    ids = chunked(tmp_path / "ids.csv", row_shape=(None,), dtype="int32")
    assert ids.dtype == np.int32 and ids.tolist() == [[1, 2, 3], [4, 5, 6]]


@pytest.mark.parametrize("ext", [".npy", ".npz", ".csv"])
def test_outputs_round_trip_and_abort_leaves_nothing(tmp_path, ext):
    y = RNG.normal(size=(23, 2)).astype("float32")
    writer = open_output(tmp_path / f"y{ext}", 23, names=["dense"])
    for i in range(0, 23, 6):
        writer.write(y[i:i + 6])
    writer.close()
    if ext == ".npy":
        back = np.load(tmp_path / "y.npy")
    elif ext == ".npz":
        with np.load(tmp_path / "y.npz") as z:
            assert z.files == ["dense"]
            back = z["dense"]
    else:
        back = np.loadtxt(tmp_path / "y.csv", delimiter=",", dtype=np.float32)
    assert np.array_equal(back, y)  # %.9g round-trips float32 exactly
    assert sorted(os.listdir(tmp_path)) == [f"y{ext}"]
    writer = open_output(tmp_path / f"z{ext}", 23)
    writer.write(y[:5])
    writer.abort()
    assert sorted(os.listdir(tmp_path)) == [f"y{ext}"]


def test_npz_output_keeps_several_outputs(tmp_path):
    writer = open_output(tmp_path / "y.npz", 4, names=["gru", "gru"])  # one layer, two outputs (return_state)
    writer.write([np.ones((4, 2), "float32"), np.arange(4.0)])
    writer.close()
    with np.load(tmp_path / "y.npz") as z:
        assert z.files == ["gru_0", "gru_1"] and z["gru_1"].tolist() == [0, 1, 2, 3]
    writer = open_output(tmp_path / "d.npz", 4)
    writer.write({"seq": np.ones((4, 2)), "last": np.zeros(4)})
    writer.close()
    with np.load(tmp_path / "d.npz") as z:
        assert z.files == ["seq", "last"] and z["seq"].shape == (4, 2)
    writer = open_output(tmp_path / "y.npy", 4)
    one_line_error(r"OUT: expected an \.npz path for a model with 2 outputs", writer.write, [X[:4], X[:4]])
    writer.abort()


def npy_bytes(header: dict, data: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def write(path, data: bytes):
    path.write_bytes(data)
    return path


BAD_NPY = {
    "huge": ({"descr": "<f4", "fortran_order": False, "shape": (10**6, 3000, 1000)}, r"12000000000128 bytes.*got 144"),
    "object": ({"descr": "|O", "fortran_order": False, "shape": (2,)}, "dtype '|O'"),
    "complex": ({"descr": "<c8", "fortran_order": False, "shape": (2,)}, "dtype '<c8'"),
    "structured": ({"descr": [("a", "<f4")], "fortran_order": False, "shape": (2,)}, "dtype"),
    "scalar": ({"descr": "<f4", "fortran_order": False, "shape": ()}, "1 to 32 axes"),
    "fortran": ({"descr": "<f4", "fortran_order": True, "shape": (2, 2)}, "Fortran-order"),
}


@pytest.mark.parametrize("case", sorted(BAD_NPY))
def test_bad_npy_headers_refused_before_reading(tmp_path, case):
    header, match = BAD_NPY[case]
    path = write(tmp_path / "x.npy", npy_bytes(header, b"\0" * 16))
    assert os.path.getsize(path) < 300
    one_line_error(match, open_input, path)


def test_bad_files_are_one_line_errors(tmp_path):
    one_line_error(r"INPUT: expected a file ending in .npy, .npz, .csv, .txt, got .*'\.pkl'", open_input, "x.pkl")
    one_line_error(r"OUT: expected a file ending in .npy, .npz, .csv, got .*'\.json'", open_output, "y.json", 3)
    one_line_error("expected a readable file", open_input, tmp_path / "missing.npy")
    np.save(tmp_path / "t.npy", X)
    write(tmp_path / "short.npy", (tmp_path / "t.npy").read_bytes()[:-4])
    one_line_error(r"bytes for shape \(23, 4, 3\)", open_input, tmp_path / "short.npy")
    one_line_error("header does not parse", open_input, write(tmp_path / "junk.npy", b"\x93NUMPY\x01\x00zz"))
    one_line_error("not one", open_input, write(tmp_path / "junk.npz", b"PK not a zip"))
    with zipfile.ZipFile(tmp_path / "m.npz", "w") as z:
        z.writestr("x.npy", npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (10**9, 10**6)}))
        z.writestr("evil.pkl", b"cos\nsystem\n")
    one_line_error(r"2 members \['x.npy', 'evil.pkl'\]", open_input, tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "h.npz", "w") as z:
        z.writestr("x.npy", npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (10**9, 10**6)}))
    one_line_error(r"INPUT\['x'\]: .*got \d+ bytes", open_input, tmp_path / "h.npz")


CSV_CASES = {
    "ragged": ("1,2,3,4,5,6\n1,2,3\n", (None, 3), "INPUT line 2: expected 6 values"),
    "not a number": ("1,2,3\n1,x,3\n", (3,), "INPUT line 2: expected numbers separated by commas"),
    "does not fit": ("1,2,3,4,5\n", (None, 3), r"INPUT line 1: expected a row of \?x3 values"),
    "fraction for ids": ("1,2.5\n", (2,), r"INPUT line 1: expected whole numbers \(dtype int32\)"),
    "empty": ("# only a comment\n\n", (2,), "INPUT: expected at least one row"),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_bad_csv_is_one_line_error_naming_the_line(tmp_path, case):
    text, shape, match = CSV_CASES[case]
    path = write(tmp_path / "x.csv", text.encode())
    one_line_error(match, chunked, path, row_shape=shape, dtype="int32" if "ids" in case else "float32")


def test_nonfinite_rows_named_and_counted():
    x = X.copy()
    for row in (2, 7, 8, 9, 11, 20, 22):
        x[row, 1, 0] = np.inf if row == 7 else np.nan
    text = one_line_error("x: expected finite values", check_finite, "x", x)
    assert "7 rows holding NaN or inf (row 2, 7, 8, 9, 11, ...)" in text
    assert check_finite("x", X) is X
    assert check_finite("ids", np.arange(3)).tolist() == [0, 1, 2]
