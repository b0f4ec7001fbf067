"""Attention layers: zoo models against Keras 3 and tf-keras, and config errors with NumPy only.

The Keras half builds ``attention_zoo.ZOO`` in both Keras versions (two builder processes, each saving
``.keras`` and ``.h5`` through ``model_runs``), then ONE process in which importing TensorFlow or
either Keras raises ImportError loads every file with refgru and runs the same inputs.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from helpers import assert_close, raises, relative_error

from refgru.model.registry import Context, build

HERE = os.path.dirname(os.path.abspath(__file__))
LIBS = {"keras": (".keras", ".h5"), "tf_keras": (".h5", ".keras")}
NAMES = ("gru_attention", "gru_mha_text", "cross_attention", "attention_float64")
IDS = [f"{lib}/{name}{ext}" for lib, exts in LIBS.items() for name in NAMES for ext in exts]

BUILDER = """
import sys
import attention_zoo, model_runs, model_zoo
model_zoo.ZOO.update(attention_zoo.ZOO)
lib, directory = sys.argv[1], sys.argv[2]
jobs, expected = model_runs.build_zoo(directory, [(lib, name) for name in attention_zoo.ZOO])
model_runs.write_group(directory, lib, jobs, expected)
"""


@pytest.fixture(scope="module")
def attention_zoo_runs(tmp_path_factory):
    """``(refgru results, Keras results)`` by ``<lib>/<model><ext>`` id (see ``model_runs``)."""
    for name in ("keras", "tf_keras", "h5py"):
        pytest.importorskip(name)
    from test_model_zoo import run_zoo

    directory = str(tmp_path_factory.mktemp("attention_zoo"))
    results, expected, _ = run_zoo(directory, {lib: [sys.executable, "-c", BUILDER, lib, directory] for lib in LIBS})
    return results, expected


def test_numpy_side_never_imported_tensorflow(attention_zoo_runs):
    results = attention_zoo_runs[0]
    assert str(results["|blocked"]) == "tensorflow,keras,tf_keras"
    assert str(results["|leaked_modules"]) == ""


@pytest.mark.parametrize("key", IDS)
def test_matches_keras(attention_zoo_runs, key):
    """Every output (scores included) within float32 1e-5 / float64 1e-10 of Keras, same structure."""
    results, expected = attention_zoo_runs
    assert f"{key}|error" not in results, f"{key}: refgru failed: {results.get(f'{key}|error')}"
    assert str(results[f"{key}|sig"]) == str(expected[f"{key}|sig"]), f"{key}: output structure differs"
    leaves = [k for k in expected if k.startswith(f"{key}|") and not k.endswith("|sig")]
    assert len(leaves) >= 3
    worst = max(relative_error(results[leaf], expected[leaf])[0] for leaf in leaves)
    print(f"{key}: max relative difference {worst:.3g}")
    for leaf in leaves:
        assert_close(leaf, results[leaf], expected[leaf])


# ---- NumPy only: config and call errors -------------------------------------------------------------

def _build(class_name, config, weights=(), version=3):
    ctx = Context(version, build=lambda spec, arrays: build(spec, arrays, ctx))
    return build({"class_name": class_name, "config": {"name": "att", **config}}, list(weights), ctx)


def _mha_weights(f=4, heads=2, key_dim=3, value_dim=3, out=4):
    shapes = [(f, heads, key_dim), (heads, key_dim), (f, heads, key_dim), (heads, key_dim),
              (f, heads, value_dim), (heads, value_dim), (heads, value_dim, out), (out,)]
    return [np.full(s, 0.1, "float32") for s in shapes]


@pytest.mark.parametrize("class_name, config, weights, fragments", [
    ("Attention", {"score_mode": "luong"}, [], "layer 'att' (Attention) score_mode|'dot' or 'concat'|'luong'"),
    ("Attention", {"use_scale": "yes"}, [], "use_scale: expected true or false"),
    ("Attention", {"dropout": 1.5}, [], "dropout: expected a number in [0, 1)|1.5"),
    ("Attention", {"use_scale": True}, [], "weights: expected scale ()|got 0 arrays"),
    ("Attention", {"score_mode": "concat"}, [np.ones(()), np.ones(())], "concat_score_weight ()|got 2 arrays"),
    ("Attention", {"causal": True}, [], "causal: expected no such key in a Keras 3 config"),
    ("AdditiveAttention", {}, [np.ones((2, 3))], "weights: expected scale (|got 1 arrays of shapes (2, 3)"),
    ("MultiHeadAttention", {"num_heads": 0, "key_dim": 3}, [], "num_heads: expected a positive int|0"),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "attention_axes": [2]}, _mha_weights(),
     "attention_axes: expected null or [1]|[2]"),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "use_gate": True}, _mha_weights(), "use_gate"),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "output_shape": "4"}, _mha_weights(),
     "output_shape: expected null, a positive int"),
    ("MultiHeadAttention", {"num_heads": 3, "key_dim": 3}, _mha_weights(),
     "weights: expected query kernel (|3, 3), query bias (3, 3)|got 8 arrays"),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, _mha_weights(out=5),
     "output kernel (2, 3, 4)|(2, 3, 5)"),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "use_bias": False}, _mha_weights(),
     "weights: expected query kernel (|2, 3), key kernel (|got 8 arrays"),
])
def test_config_errors(class_name, config, weights, fragments):
    message = raises(fragments, _build, class_name, config, weights)
    assert "\n" not in message


def test_tf_keras_causal_and_robust_masking_options_are_read():
    """tf-keras's ``causal`` config key and ``softmax_robust_masking`` build (Keras 3 refuses ``causal``)."""
    assert _build("Attention", {"causal": True}, version=2).causal
    assert _build("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "softmax_robust_masking": True},
                  _mha_weights(), version=2).robust


def test_call_errors():
    rng = np.random.default_rng(0)
    att = _build("Attention", {})
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    raises("inputs: expected a list [query, value]", att.call, q, None, {})
    raises("value: expected an array of shape (2, ?, ?)", att.call, [q, v[:1]], None, {})
    raises("value_mask: expected an array of shape (2, 5)", att.call, [q, v], [None, np.ones((2, 4), bool)], {})
    raises("call arguments: expected return_attention_scores|['foo']", att.call, [q, v], None, {"foo": 1})
    raises("query: expected 3 features", _build("AdditiveAttention", {}, [np.ones(3)]).call, [q, v], None, {})
    mha = _build("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, _mha_weights())
    raises("call arguments: expected query, value", mha.call, q, None, {})
    raises("query: expected 4 features", mha.call, q[..., :3], None, {"args": [v]})
    raises("attention_mask: expected an array of shape (2, 3, 5)", mha.call, q, None,
           {"args": [v], "attention_mask": np.ones((2, 5, 3), bool)})


def test_mha_masks_combine_as_keras_compute_attention_mask():
    """NumPy-only pin of the rule the zoo checks against Keras: an explicit ``attention_mask`` is ANDed with
    the query/value masks, and a causal mask gives later steps probability 0."""
    rng = np.random.default_rng(1)
    weights = [rng.uniform(0.1, 1, w.shape).astype("float32") for w in _mha_weights()]
    mha = _build("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, weights)
    q, v = rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, 5, 4)).astype("float32")
    q_mask, v_mask = np.array([[1, 1, 0], [1, 1, 1]], bool), np.array([[1, 1, 1, 0, 0], [1] * 5], bool)
    explicit = rng.random((2, 3, 5)) > 0.3
    masks = [[q_mask, v_mask], {}]
    with_explicit = mha.call(q, None, {"args": [v], "attention_mask": explicit, "input_masks": masks})
    combined = explicit & q_mask[:, :, None] & v_mask[:, None, :]
    assert_close("attention_mask", with_explicit, mha.call(q, None, {"args": [v], "attention_mask": combined}))
    _, scores = mha.call(q, None, {"args": [v], "input_masks": masks, "use_causal_mask": True,
                                   "return_attention_scores": True})
    assert np.all(scores[:, :, np.triu_indices(3, 1)[0], np.triu_indices(3, 1)[1]] == 0)
