"""Shared test helpers: random GRU weights with non-zero biases, dtype-aware comparison, masks, error checks,
Keras imported on first use, and a large memory-mapped input."""

from __future__ import annotations

import os

import numpy as np
import pytest

import refgru

TOLERANCE = {np.dtype("float32"): 1e-5, np.dtype("float64"): 1e-10}

_COMMON = ["elu", "exponential", "gelu", "hard_sigmoid", "leaky_relu", "linear", "log_softmax", "mish", "relu", "relu6",
           "selu", "sigmoid", "silu", "softmax", "softplus", "softsign", "swish", "tanh"]
#: The activation names each Keras version resolves (pinned against Keras in test_keras_facts.py and
#: against ``refgru.get_activation`` in test_activations.py).
ACTIVATION_NAMES = {
    2: sorted(_COMMON),
    3: sorted(_COMMON + ["celu", "hard_shrink", "hard_silu", "hard_swish", "hard_tanh", "log_sigmoid", "soft_shrink",
                         "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "tanh_shrink"]),
}


def examples(default: int) -> int:
    """A hypothesis ``max_examples``: ``default``, or ``$REFGRU_EXAMPLES`` when set (for quick local runs)."""
    return int(os.environ.get("REFGRU_EXAMPLES", default))


def random_weights(rng: np.random.Generator, input_dim: int, units: int, *, reset_after: bool = True,
                   use_bias: bool = True, dtype="float32", scale: float = 0.6) -> list[np.ndarray]:
    """``[kernel, recurrent_kernel(, bias)]`` in Keras's shapes, every entry (biases too) random non-zero."""
    shapes = [(input_dim, 3 * units), (units, 3 * units)]
    if use_bias:
        shapes.append((2, 3 * units) if reset_after else (3 * units,))
    return [(rng.uniform(0.05, 1.0, s) * rng.choice([-1, 1], s) * scale).astype(dtype) for s in shapes]


def assert_close(name: str, actual, expected, dtype=None) -> None:
    """Compare one tensor (or a list/tuple of them) with the dtype's tolerance; the message names it."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, type(expected)), (
            f"{name}: expected a {type(expected).__name__}, got {type(actual).__name__}")
        assert len(actual) == len(expected), f"{name}: expected {len(expected)} items, got {len(actual)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(f"{name}[{i}]", a, e, dtype)
        return
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != Keras {expected.shape}"
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != Keras {expected.dtype}"
    tol = TOLERANCE[np.dtype(dtype or expected.dtype)]
    worst, where = relative_error(actual, expected)
    assert worst <= tol, f"{name}: differs from Keras by {worst:.3g} (tolerance {tol:g}) at {where}"


def relative_error(actual: np.ndarray, expected: np.ndarray) -> tuple[float, tuple]:
    """Largest ``|actual - expected| / max(1, |expected|)`` and where it is.

    Non-finite entries (an exploding activation such as ``exponential``) must be non-finite in the
    same way in both: NaN where Keras has NaN, the same infinity where Keras has one.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    finite = np.isfinite(expected)
    infinite = np.isinf(expected)
    same_special = (np.array_equal(np.isnan(actual), np.isnan(expected))
                    and np.array_equal(actual[infinite], expected[infinite]))
    if not same_special or not np.isfinite(actual[finite]).all():
        bad = np.argwhere(np.isfinite(actual) != finite)
        return float("inf"), tuple(bad[0]) if len(bad) else ("non-finite pattern",)
    err = np.where(finite, np.abs(actual - expected) / np.maximum(1.0, np.abs(np.where(finite, expected, 1.0))), 0.0)
    if not err.size:
        return 0.0, ()
    return float(err.max()), tuple(int(i) for i in np.unravel_index(err.argmax(), err.shape))


MASK_KINDS = ["none", "random", "leading", "trailing", "full_row", "gaps"]


def make_mask(kind: str, rng: np.random.Generator, batch: int, steps: int) -> np.ndarray | None:
    """Masks with gaps, leading or trailing masked steps, and fully masked rows."""
    if kind == "none":
        return None
    mask = np.ones((batch, steps), bool)
    if kind == "random":
        mask = rng.random((batch, steps)) > 0.4
    elif kind == "leading":
        mask[:, : rng.integers(1, steps + 1)] = False
    elif kind == "trailing":
        mask[:, steps - rng.integers(1, steps + 1):] = False
    elif kind == "full_row":
        mask = rng.random((batch, steps)) > 0.3
        mask[rng.integers(batch)] = False
    elif kind == "gaps":
        mask[:, 1::2] = False
    return mask


def raises(fragments: str, call, *args, **kwargs) -> str:
    """Assert ``call(*args, **kwargs)`` raises RefgruError whose message holds each ``|``-separated fragment."""
    with pytest.raises(refgru.RefgruError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    for fragment in fragments.split("|"):
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert isinstance(info.value, ValueError)
    return message


class _LazyKeras:
    """``keras_ref.<name>`` looked up on first use: Keras is imported then, or the running test is skipped."""

    def __init__(self, name: str):
        self._name = name

    def _target(self):
        return getattr(pytest.importorskip("keras_ref"), self._name)

    def __getattr__(self, attr):
        if attr.startswith("_"):  # pytest's collection probes attributes such as __test__: no import for those
            raise AttributeError(attr)
        return getattr(self._target(), attr)

    def __getitem__(self, key):
        return self._target()[key]


#: Stand-ins for ``keras_ref.LIBS`` and ``keras_ref.tf`` in modules that mix NumPy-only and Keras tests.
LIBS, tf = _LazyKeras("LIBS"), _LazyKeras("tf")


def keras_gru(*args, **kwargs):
    """``keras_ref.keras_gru``, importing Keras on first use (the test skips when Keras is not installed)."""
    return pytest.importorskip("keras_ref").keras_gru(*args, **kwargs)


def keras_layer(*args, **kwargs):
    """``keras_ref.keras_layer``, importing Keras on first use (the test skips when Keras is not installed)."""
    return pytest.importorskip("keras_ref").keras_layer(*args, **kwargs)


def large_input(path, rows: int = 25_000, block: int = 2500, row_shape: tuple[int, ...] = (4, 1000)) -> np.ndarray:
    """Write a float32 ``(rows, *row_shape)`` ``.npy`` at ``path`` through a memory map (never all in memory),
    each row ``r`` filled with ``0.01 * (r // block)``; return the rows ``[::block]`` that file holds, in memory."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, *row_shape))
    for i in range(0, rows, block):
        array[i:i + block] = 0.01 * (i // block)
    array.flush()
    del array
    return np.stack([np.full(row_shape, 0.01 * (i // block), "float32") for i in range(0, rows, block)])
