"""Sweep over every registered layer class: real Keras 3 configs with a key dropped, arrays of a wrong shape,
an array missing. Each either builds or gives ONE line of ``RefgruError`` naming the layer; nothing else.

The configs and arrays are what Keras 3 saves for one layer of each class (built in a fixture; no model,
no prediction). Aliases (``AvgPool1D``...) share their builder, so they are swept under their own name too.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("keras")  # every sweep case starts from a config Keras 3 writes

from sweep_table import ALIASES, HANDMADE, LAYERS  # noqa: E402

import refgru  # noqa: E402
from refgru.model import REGISTRY, load  # noqa: E402, F401  (load fills the registry)
from refgru.model.registry import Context, build  # noqa: E402


@pytest.fixture(scope="module")
def saved():
    """``class -> (config, arrays)`` as Keras 3 saves one layer of each class."""
    import keras

    out = dict(HANDMADE)
    for cls, (factory, shape) in LAYERS.items():
        if factory is None:
            layer = keras.layers.InputLayer(shape=shape)
        else:
            layer = factory(keras.layers)
            inputs = [keras.Input(s) for s in shape] if isinstance(shape, list) else keras.Input(shape)
            layer(*inputs) if cls == "MultiHeadAttention" else layer(inputs)  # MHA takes (query, value)
        config = json.loads(json.dumps(layer.get_config()))  # as a file holds it: tuples become lists
        out[cls] = (config, [np.asarray(w) for w in layer.get_weights()])
    for alias, cls in ALIASES.items():
        out[alias] = out[cls]
    return out


#: Classes whose array ranks follow the input's rank, which their config does not hold: a wrong rank is
#: refused when the layer is called.
RANK_FROM_INPUT = {"PReLU"}


def _one_line_call_error(layer, shape):
    try:
        layer.call(np.zeros((2, *shape), "float32"), None, {})
    except refgru.RefgruError as exc:
        assert "\n" not in str(exc)
        return str(exc)
    return None


def _build(cls, cfg, arrays):
    ctx = Context(2 if cls in HANDMADE else 3, build=lambda spec, a: build(spec, a, ctx))
    return build({"class_name": cls, "config": cfg}, arrays, ctx)


def _one_line_error(cls, cfg, arrays, what):
    try:
        _build(cls, cfg, arrays)
    except refgru.RefgruError as exc:
        message = str(exc)
        assert "\n" not in message, f"{cls} {what}: {message!r}"
        assert f"({cls})" in message or "layer " in message, f"{cls} {what}: names no layer: {message!r}"
        return message
    return None


@pytest.mark.parametrize("cls", sorted(REGISTRY))
def test_config_errors_are_one_line(saved, cls):
    cfg, arrays = saved[cls]
    cfg = {**cfg, "name": f"sweep_{cls.lower()}"}
    _build(cls, cfg, arrays)  # the real config builds
    for key in [k for k in cfg if k != "name"]:  # a key dropped: its default, or one line
        _one_line_error(cls, {k: v for k, v in cfg.items() if k != key}, arrays, f"without {key!r}")
        _one_line_error(cls, {**cfg, key: "?"}, arrays, f"{key!r} = '?'")  # a value of the wrong type
    for i, w in enumerate(arrays):  # each array of a wrong shape, then missing
        wrong = [*arrays[:i], np.zeros(w.shape + (2,), w.dtype), *arrays[i + 1:]]
        message = _one_line_error(cls, cfg, wrong, f"array {i} of shape {wrong[i].shape}")
        if message is None and cls in RANK_FROM_INPUT:  # only the input's rank tells the rank of the array
            message = _one_line_call_error(_build(cls, cfg, wrong), LAYERS[cls][1])
        assert "weights" in (message or ""), f"{cls}: array {i} of a wrong shape was accepted"
        assert _one_line_error(cls, cfg, arrays[:i] + arrays[i + 1:], f"array {i} missing"), \
            f"{cls}: a missing array {i} was accepted"
    assert _one_line_error(cls, cfg, [*arrays, np.zeros(3, "float32")], "an extra array"), \
        f"{cls}: an extra array was accepted"
