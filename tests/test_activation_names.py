"""NumPy-only activation checks (the Keras comparisons are in test_activations.py, which needs Keras)."""

from __future__ import annotations

import numpy as np
from helpers import ACTIVATION_NAMES, raises

import refgru

GRID = np.linspace(-6, 6, 49).reshape(7, 7)


def test_swish_and_silu_are_one_function_in_both():
    for version in (3, 2):
        np.testing.assert_array_equal(refgru.get_activation("swish", version)(GRID),
                                      refgru.get_activation("silu", version)(GRID))


def test_refgru_resolves_exactly_each_versions_names():
    """Every name of a version resolves (shape and dtype kept); the Keras-3-only names are refused for version 2."""
    for version in (3, 2):
        for name in ACTIVATION_NAMES[version]:
            out = refgru.get_activation(name, version)(GRID.astype("float32"))
            assert out.shape == GRID.shape and out.dtype == np.float32, name
    for name in sorted(set(ACTIVATION_NAMES[3]) - set(ACTIVATION_NAMES[2])):
        raises(f"'{name}'", refgru.get_activation, name, 2)
