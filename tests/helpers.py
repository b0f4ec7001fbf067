"""Shared test helpers: random GRU weights with non-zero biases, and dtype-aware comparison."""

from __future__ import annotations

import numpy as np

TOLERANCE = {np.dtype("float32"): 1e-5, np.dtype("float64"): 1e-10}


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
        assert isinstance(actual, type(expected)), f"{name}: expected a {type(expected).__name__}, got {type(actual).__name__}"
        assert len(actual) == len(expected), f"{name}: expected {len(expected)} items, got {len(actual)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(f"{name}[{i}]", a, e, dtype)
        return
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != Keras {expected.shape}"
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != Keras {expected.dtype}"
    tol = TOLERANCE[np.dtype(dtype or expected.dtype)]
    scale = np.maximum(1.0, np.abs(expected))
    err = np.abs(actual - expected) / scale
    worst = float(np.nanmax(err)) if err.size else 0.0
    assert worst <= tol, f"{name}: differs from Keras by {worst:.3g} (tolerance {tol:g}) at {np.unravel_index(np.nanargmax(err), err.shape)}"
