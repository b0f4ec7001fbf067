"""Each activation against keras.activations (Keras 3) and tf_keras.activations (Keras 2), value by value."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_close
from keras_ref import LIBS, tf

from refgru.activations import ACTIVATIONS, get_activation

GRID = np.concatenate([np.linspace(-6, 6, 49), [-30.0, -3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 3.0, 30.0, 0.5, -0.5]]).reshape(3, -1)
CASES = [(v, name) for v in (3, 2) for name in sorted(ACTIVATIONS[v])]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("version,name", CASES, ids=[f"keras{v}-{n}" for v, n in CASES])
def test_activation_matches_keras(version, name, dtype):
    x = GRID.astype(dtype)
    expected = np.asarray(LIBS[version].activations.get(name)(tf.constant(x)))
    actual = get_activation(name, version)(x)
    assert_close(f"Keras {version} {name}", actual, expected)


@pytest.mark.parametrize("version,at_minus2,at_plus2,saturates", [(3, 1 / 6, 5 / 6, 3.0), (2, 0.1, 0.9, 2.5)])
def test_hard_sigmoid_differs_between_versions(version, at_minus2, at_plus2, saturates):
    """Keras 3: relu6(x + 3) / 6, saturating at ±3. tf-keras: clip(0.2x + 0.5, 0, 1), saturating at ±2.5."""
    x = np.array([-2.0, 2.0, -saturates, saturates, -saturates + 0.01])
    expected = np.asarray(LIBS[version].activations.get("hard_sigmoid")(tf.constant(x)))
    np.testing.assert_allclose(expected[:4], [at_minus2, at_plus2, 0.0, 1.0], atol=1e-12)
    assert expected[4] > 0
    assert_close(f"hard_sigmoid Keras {version}", get_activation("hard_sigmoid", version)(x), expected)


def test_swish_and_silu_are_one_function_in_both():
    for version in (3, 2):
        x = GRID
        np.testing.assert_array_equal(get_activation("swish", version)(x), get_activation("silu", version)(x))
        assert_close("silu", get_activation("silu", version)(x), np.asarray(LIBS[version].activations.get("swish")(tf.constant(x))))


def test_keras3_only_names_are_refused_for_keras2():
    only3 = sorted(set(ACTIVATIONS[3]) - set(ACTIVATIONS[2]))
    assert "celu" in only3 and "hard_silu" in only3
    for name in only3:
        with pytest.raises(ValueError):
            LIBS[2].activations.get(name)
