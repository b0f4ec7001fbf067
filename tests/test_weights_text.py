"""Weights from text: printed NumPy, torch and Keras output parsed back into the arrays, hostile text refused.

The NumPy tests generate their text with NumPy itself; the torch and Keras tests print real modules and
layers and compare the parsed arrays with their weights exactly. torch and Keras are imported inside the
tests that need them, so the NumPy tests run without either.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import raises, random_weights
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import refgru
from refgru import seed
from refgru.weights_text import MAX_DEPTH, MAX_TEXT_CHARS, infer_gru, weights_from_text

SEED_TEXT = (Path(__file__).parent / "data" / "seed_get_weights.txt").read_text()
ROOT = Path(__file__).resolve().parents[1]


def printed(*objects) -> str:
    """What ``print(*objects)`` writes."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print(*objects)
    return out.getvalue()


def assert_same(actual: np.ndarray, expected: np.ndarray, name: str = "array") -> None:
    """Bit-for-bit the same values (NaN where NaN, the sign of every zero), shape and dtype."""
    expected = np.asarray(expected)
    assert isinstance(actual, np.ndarray), f"{name}: got {type(actual).__name__}"
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, \
        f"{name}: {actual.shape} {actual.dtype} != {expected.shape} {expected.dtype}"
    assert np.array_equal(actual, expected, equal_nan=True), f"{name}: values differ"
    numbers = ~np.isnan(expected)
    assert np.array_equal(np.signbit(actual[numbers]), np.signbit(expected[numbers])), f"{name}: signs of zeros differ"


# --- the seed question -------------------------------------------------------------------------------

def test_seed_question_text_gives_its_arrays_and_a_reset_after_gru2():
    arrays = weights_from_text(SEED_TEXT)
    assert isinstance(arrays, list) and len(arrays) == 3
    for name, actual, expected in zip(("kernel", "recurrent_kernel", "bias"), arrays, seed.WEIGHTS, strict=True):
        assert_same(actual, expected, name)
    assert infer_gru(arrays) == {"units": 2, "input_dim": 1, "reset_after": True, "use_bias": True}
    weights = refgru.GRUWeights.from_keras(arrays)
    assert (weights.units, weights.bias.shape, weights.reset_after) == (2, (2, 6), True)
    assert_same(weights.recurrent_bias, np.zeros(6, np.float32), "recurrent bias row")


def test_seed_text_is_the_question_verbatim():
    # the fixture keeps the question's terminal wrapping: continuation lines start without indentation
    assert SEED_TEXT.startswith("Shape = [array([[-0.64266175, -0.0870676 , ")
    assert "\n-0.04923642]], dtype=float32), array([[ 0.01929092," in SEED_TEXT
    assert SEED_TEXT.count("dtype=float32") == 3


# --- round trips through NumPy's own printing -------------------------------------------------------

DTYPES = [np.float16, np.float32, np.float64]


@st.composite
def printed_arrays(draw):
    """A few arrays (any finite/non-finite values, shapes with sides 1) and how NumPy printed them."""
    dtype = draw(st.sampled_from(DTYPES))
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=5)
    values = st.floats(width=np.finfo(dtype).bits) | st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan])
    arrays = draw(st.lists(hnp.arrays(dtype, shapes, elements=values), min_size=1, max_size=3))
    options = {"linewidth": draw(st.sampled_from([8, 40, 75, 200])), "sign": draw(st.sampled_from("- +")),
               "floatmode": "unique"}
    layout = draw(st.sampled_from(["list", "lines", "label"]))
    with np.printoptions(**options):
        if layout == "lines":
            text = "".join(printed(repr(a)) for a in arrays)
        else:
            text = printed(*(["Shape = "] if layout == "label" else []), arrays)
    spacing = draw(st.lists(st.sampled_from([", ", ",\n", " ,  ", ",\t", ",\r\n   "]), min_size=1, max_size=5))
    if draw(st.booleans()):  # re-wrap after commas and strip indentation, as pasting into a web page does
        parts = text.split(", ")
        text = "".join(p + spacing[i % len(spacing)] for i, p in enumerate(parts[:-1])) + parts[-1]
        text = re.sub(r"\n[ \t]+", "\n", text)
    return arrays, text


@given(printed_arrays())
def test_numpy_printed_arrays_round_trip_exactly(case):
    arrays, text = case
    parsed = weights_from_text(text)
    assert isinstance(parsed, list) and len(parsed) == len(arrays), text
    for i, (actual, expected) in enumerate(zip(parsed, arrays, strict=True)):
        assert_same(actual, expected, f"array {i} of {text!r}")


def test_unprinted_dtype_means_float64_and_special_values_keep_their_sign():
    expected = np.array([[np.nan, np.inf, -np.inf], [-0.0, 5e-324, 1.7976931348623157e308]])
    with np.printoptions(floatmode="unique"):  # the default 8 digits would round 1.797...e308 and 5e-324
        text = repr(expected)
    assert "dtype" not in text
    (parsed,) = weights_from_text(text)
    assert_same(parsed, expected)


def test_float32_decimals_are_rounded_once():
    # 1 + 2**-24 is halfway between two float32 values; the decimal just above it must round up,
    # although its nearest float64 is the halfway point itself (which would round down to even).
    text = "array([1.00000005960464477539062500001, 1.0000000596046447753906249999], dtype=float32)"
    (parsed,) = weights_from_text(text)
    assert_same(parsed, np.array([np.nextafter(np.float32(1), np.float32(2)), 1], np.float32))


def test_empty_and_zero_dimensional_arrays():
    for array in (np.zeros((0, 6), np.float32), np.array(1.5, np.float32), np.zeros((2, 0))):
        (parsed,) = weights_from_text(repr(array))
        assert_same(parsed, array, repr(array))


# --- refused text --------------------------------------------------------------------------------------

def test_elided_arrays_are_refused_with_how_to_print_them_whole():
    for array in (np.zeros(2000, np.float32), np.ones((100, 100))):
        message = raises("text: expected the whole array|'...' at line|np.set_printoptions(threshold=sys.maxsize)",
                         weights_from_text, printed([array]))
        assert "\n" not in message
    with np.printoptions(threshold=sys.maxsize):
        assert weights_from_text(printed([np.zeros(2000, np.float32)]))[0].shape == (2000,)


@pytest.mark.parametrize("text, fragments", [
    ("array([[1., 2.], [3.]])", "rows of shape (2,)|got a row of shape (1,) at line 1, column 18|not broadcast"),
    ("array([[1., 2.],\n       3.])", "got a number at line 2, column 8"),
    ("array([1, 2])", "floating-point numbers|got array(...) at line 1, column 1"),
    ("tensor([1, 2])", "floating-point numbers|got tensor(...)"),
    ("array([1.], dtype=int32)", "a floating-point dtype (float16, float32, float64)|got 'int32'"),
    ("tensor([1.], dtype=torch.bfloat16)", "a floating-point dtype|got 'torch.bfloat16'"),
    ("array([1e39], dtype=float32)", "values within the range of float32|got 1e39"),
    ("array([1e999])", "values within the range of float64"),
    ("[[-0.64266175 -0.0870676 ]]", "NumPy's array(...)|got '[' at line 1, column 1|print(layer.get_weights())"),
    ("array([-0.64266175 -0.0870676 ])", "',' or ']'|got '-0.0870676' at line 1, column 20|shows commas"),
    ("array([1.], dtyp=float32)", "one of the options dtype, shape of array(...)|got 'dtyp'"),
    ("array([1.], shape=(2,))", "a shape matching the printed values (1,)|got (2,)"),
    ("array([1.]) junk", "array(...) or tensor(...)|got 'junk' at line 1, column 13"),
    ("[array([1.])] junk", "the end of the text|got 'junk'"),
    ("OrderedDict([('a', tensor([1.])), ('a', tensor([2.]))])", "each name once|got 'a' again"),
    ("Parameter containing:\narray([1.])", "tensor(...) after 'Parameter containing:'|line 2, column 1"),
    ("", "got the end of the text at line 1, column 1"),
    ("array([1.], dtype=float32", "got the end of the text"),
])
def test_malformed_text_is_refused_with_where(text, fragments):
    assert "\n" not in raises(fragments, weights_from_text, text)


def test_text_must_be_a_str():
    raises("text: expected a str", weights_from_text, SEED_TEXT.encode())


HOSTILE = r"""
import json, os, sys, time
import refgru
from refgru.weights_text import weights_from_text
cases = {
    "deep": "array(" + "[" * 10_000 + "1." + "]" * 10_000 + ")",
    "deep in a list": "Shape = [array([" + "[" * 10_000 + "1." + "]" * 10_000 + "])]",
    "deep in a state_dict": "OrderedDict([('a', tensor(" + "[" * 10_000 + "1." + "]" * 10_000 + "))])",
    "repeated calls": "[array(" * 10_000,
    "100 MB line": "array([" + "0.5, " * 20_000_000 + "])",
    "import": "__import__('os').system('touch PWNED')",
    "import in a list": "[__import__('os').system('touch PWNED')]",
    "import in an array": "array(__import__('os').system('touch PWNED'))",
    "import in a dict": "{'a': __import__('os').system('touch PWNED')}",
    "label then import": "Shape = [array([1.]), __import__('os').system('touch PWNED')]",
    "16 MB of digits": "array([" + "1" * (refgru.weights_text.MAX_TEXT_CHARS - 9) + "x",
    "16 MB of brackets": "[" * refgru.weights_text.MAX_TEXT_CHARS,
}
results = {}
for name, text in cases.items():
    start = time.perf_counter()
    try:
        weights_from_text(text)
        results[name] = ["accepted", 0.0]
    except refgru.RefgruError as exc:
        results[name] = [str(exc), time.perf_counter() - start]
print(json.dumps(results))
"""


def test_hostile_text_is_refused_in_bounded_time(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", HOSTILE], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    assert not (tmp_path / "PWNED").exists()
    for name, (message, _seconds) in results.items():
        assert message.startswith("text: expected ") and "\n" not in message, f"{name}: {message}"
        assert re.search(r"line \d+", message), f"{name}: {message}"
    for name in ("deep", "deep in a list", "deep in a state_dict"):
        assert f"at most {MAX_DEPTH} nested brackets" in results[name][0], results[name][0]
    assert f"at most {MAX_TEXT_CHARS:,} characters" in results["100 MB line"][0]
    assert "got '__import__' at line 1, column 1" in results["import"][0]
    assert "got '__import__' at line 1, column 7" in results["import in an array"][0]


# --- infer_gru ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("reset_after, use_bias", [(True, True), (False, True), (True, False)])
def test_infer_gru_reads_the_layout_from_the_shapes(reset_after, use_bias):
    arrays = random_weights(np.random.default_rng(0), 4, 3, reset_after=reset_after, use_bias=use_bias)
    info = infer_gru(weights_from_text(printed(arrays)))
    assert info == {"units": 3, "input_dim": 4, "use_bias": use_bias, "reset_after": reset_after if use_bias else None}


def test_infer_gru_refuses_inconsistent_shapes():
    kernel, recurrent, bias = random_weights(np.random.default_rng(0), 4, 3)
    raises("recurrent_kernel: expected shape (3, 9)", infer_gru, [kernel, recurrent[:2]])
    raises("bias: expected shape (2, 9)", infer_gru, [kernel, recurrent, bias[:, :6]])
    raises("kernel: expected shape (input_dim, 3 * units)", infer_gru, [kernel[:, :8], recurrent])
    raises("arrays: expected 2 or 3 arrays|torch", infer_gru, [kernel.T, recurrent.T, bias[0], bias[1]])
    raises("arrays: expected the list get_weights() returns|from_torch", infer_gru, {"weight_ih_l0": kernel.T})
    raises("recurrent_kernel: expected dtype float32", infer_gru, [kernel, recurrent.astype(np.float64)])


# --- real torch ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def torch_printoptions(**options):
    torch = pytest.importorskip("torch")
    torch.set_printoptions(**options)
    try:
        yield torch
    finally:
        torch.set_printoptions(profile="default")
        torch.set_printoptions(sci_mode=None)


@pytest.mark.parametrize("dtype, precision", [("float32", 10), ("float64", 17)])
def test_torch_parameters_and_state_dict_text_give_its_tensors_exactly(dtype, precision):
    with torch_printoptions(precision=precision, sci_mode=True) as torch:
        torch.manual_seed(0)
        gru = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True, dtype=getattr(torch, dtype))
        parameters_text, state_text = printed(list(gru.parameters())), printed(gru.state_dict())
    assert "Parameter containing:" in parameters_text and "requires_grad=True" in parameters_text
    assert state_text.startswith("OrderedDict(")
    parameters = weights_from_text(parameters_text)
    expected = [p.detach().numpy() for p in gru.parameters()]
    assert isinstance(parameters, list) and len(parameters) == len(expected) == 16
    for i, (actual, want) in enumerate(zip(parameters, expected, strict=True)):
        assert_same(actual, want, f"parameter {i}")
    state = weights_from_text(state_text)
    assert isinstance(state, dict) and list(state) == list(gru.state_dict())
    for name, tensor in gru.state_dict().items():
        assert_same(state[name], tensor.numpy(), name)
    from_text = refgru.GRUWeights.from_torch(state, 1, "reverse")
    from_module = refgru.GRUWeights.from_torch(gru, 1, "reverse")
    for a, b in zip(from_text.to_keras(), from_module.to_keras(), strict=True):
        assert_same(a, b, "GRUWeights.from_torch")


def test_torch_default_print_precision_parses_to_the_printed_values():
    with torch_printoptions(profile="default") as torch:
        torch.manual_seed(1)
        gru = torch.nn.GRU(2, 3)
        text = printed(list(gru.parameters()))
    parsed = np.concatenate([a.ravel() for a in weights_from_text(text)])
    shown = np.array([np.float32(t) for t in re.findall(r"-?\d+\.\d{4}", text)])
    assert_same(parsed, shown)
    exact = np.concatenate([p.detach().numpy().ravel() for p in gru.parameters()])
    assert np.abs(parsed - exact).max() <= 0.5e-4 + 1e-7  # 4 decimals: close, not exact


# --- real Keras ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [3, 2])
def test_keras_get_weights_text_gives_the_layer_weights_exactly(version):
    from keras_ref import LIBS  # skips without keras / tf_keras

    rng = np.random.default_rng(version)
    for reset_after, use_bias in [(True, True), (False, True), (True, False)]:
        layer = LIBS[version].layers.GRU(3, reset_after=reset_after, use_bias=use_bias)
        layer.build((None, 5, 2))
        layer.set_weights(random_weights(rng, 2, 3, reset_after=reset_after, use_bias=use_bias))
        with np.printoptions(precision=17):
            text = printed("Shape = ", layer.get_weights())
        arrays = weights_from_text(text)
        for i, (actual, expected) in enumerate(zip(arrays, layer.get_weights(), strict=True)):
            assert_same(actual, expected, f"Keras {version} weight {i} (reset_after={reset_after}, bias={use_bias})")
        info = infer_gru(arrays)
        assert info == {"units": 3, "input_dim": 2, "use_bias": use_bias,
                        "reset_after": layer.reset_after if use_bias else None}
        assert refgru.GRUWeights.from_keras(arrays, reset_after=layer.reset_after).reset_after == reset_after


def test_torch_one_parameter_per_line_grad_fn_and_empty_tensors():
    with torch_printoptions(precision=10, sci_mode=True) as torch:
        torch.manual_seed(2)
        gru = torch.nn.GRU(2, 2)
        lines = "".join(printed(p) for p in gru.parameters())
        doubled = gru.weight_ih_l0 * 2
        extras = printed([doubled, torch.zeros(0, 3), torch.tensor(3.5)])
    assert "grad_fn=<MulBackward0>" in extras and "size=(0, 3)" in extras
    for i, (actual, p) in enumerate(zip(weights_from_text(lines), gru.parameters(), strict=True)):
        assert_same(actual, p.detach().numpy(), f"parameter {i}")
    grad, empty, scalar = weights_from_text(extras)
    assert_same(grad, doubled.detach().numpy(), "grad_fn tensor")
    assert_same(empty, np.zeros((0, 3), np.float32), "empty tensor")
    assert_same(scalar, np.array(3.5, np.float32), "0-d tensor")


@pytest.mark.parametrize("text", [
    "OrderedDict({'weight': tensor([1., -0.], device='cuda:0'), 'bias': tensor([2.], dtype=torch.float64)})",
    "{'weight': tensor([1., -0.], device='cuda:0'), 'bias': tensor([2.], dtype=torch.float64),}",
    "OrderedDict([('weight', tensor([1., -0.], device='cuda:0')), ('bias', tensor([2.], dtype=torch.float64))])",
])
def test_state_dict_forms_give_a_dict_in_the_printed_order(text):
    # Python 3.12 prints OrderedDict({...}); earlier versions OrderedDict([(...), ...]); dict(...) prints {...}
    state = weights_from_text(text)
    assert isinstance(state, dict) and list(state) == ["weight", "bias"]
    assert_same(state["weight"], np.array([1.0, -0.0], np.float32), "weight")
    assert_same(state["bias"], np.array([2.0]), "bias")
