"""Masked Keras text models exported to ONNX (Embedding(mask_zero=True), Masking, GRU and Bidirectional),
saved by Keras 3 and tf-keras, loaded with refgru.load_model, run in onnxruntime and compared with Keras
on right-padded, left-padded and gapped masks (any mask is exact: refgru.onnx.mask)."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from helpers import relative_error  # noqa: E402
from keras_ref import LIBS, tf  # noqa: E402

import refgru  # noqa: E402

MEASURED: dict[str, float] = {}  # worst difference per model and padding, printed with -s
SUFFIX = {3: "keras", 2: "h5"}


def randomize(model, seed: int) -> None:
    """Every variable (biases too) random and non-zero."""
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.uniform(0.05, 1.0, w.shape) * rng.choice([-1, 1], w.shape) * 0.6).astype(w.dtype)
                       for w in model.get_weights()])


def paddings(rng, batch: int, steps: int) -> dict[str, np.ndarray]:
    """Masks (B, T) by kind: right-padded (one row full, one empty), left-padded, gaps, and a mix of them."""
    lengths = rng.integers(0, steps + 1, batch)
    lengths[:2] = steps, 0
    t = np.arange(steps)
    right, left = t < lengths[:, None], t >= steps - lengths[:, None]
    gaps = rng.random((batch, steps)) < 0.6
    gaps[0] = True
    mixed = np.where((np.arange(batch) % 3 == 0)[:, None], right, np.where((np.arange(batch) % 3 == 1)[:, None],
                                                                             left, gaps))
    return {"right-padded": right, "left-padded": left, "gaps": gaps, "mixed": mixed}


def compare(tmp_path, keras_model, version: int, feeds_by_kind: dict[str, np.ndarray], name: str) -> None:
    """Save the model, load it with refgru, export it, and compare onnxruntime with Keras on every feed."""
    path = tmp_path / f"{name}.{SUFFIX[version]}"
    keras_model.save(path)
    model = refgru.export_onnx(refgru.load_model(path), None, dtype="float32")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for kind, x in feeds_by_kind.items():
        actual = session.run(None, {session.get_inputs()[0].name: x})
        expected = keras_model(tf.constant(x), training=False)
        expected = [np.asarray(e) for e in (expected if isinstance(expected, (list, tuple)) else [expected])]
        assert len(actual) == len(expected)
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert a.shape == e.shape and a.dtype == e.dtype, f"{name} {kind} output {i}: {a.shape} != {e.shape}"
            worst, where = relative_error(a, e)
            key = f"Keras {version} {name}, {kind}"
            MEASURED[key] = max(MEASURED.get(key, 0.0), worst)
            assert worst <= 1e-5, f"{key} output {i}: differs by {worst:.3g} at {where}"


@pytest.mark.parametrize("version", [3, 2])
def test_embedding_mask_zero_text_model(tmp_path, version):
    """Embedding(mask_zero) -> GRU(sequences) -> GRU(go_backwards) -> Dense; Bidirectional(sequences) ->
    TimeDistributed(Dense); GRU(go_backwards, zero_output_for_mask, sequences, state); Bidirectional last."""
    lib, L = LIBS[version], LIBS[version].layers
    rng = np.random.default_rng(30 + version)
    steps = 6
    ids = lib.Input((steps,), dtype="int32")
    e = L.Embedding(9, 3, mask_zero=True)(ids)
    seq = L.GRU(4, return_sequences=True)(e)
    last = L.Dense(2, activation="tanh")(L.GRU(3, go_backwards=True, reset_after=False)(seq))
    both = L.TimeDistributed(L.Dense(2))(L.Bidirectional(L.GRU(3, return_sequences=True))(e))
    back, state = L.GRU(3, return_sequences=True, return_state=True, go_backwards=True,
                        zero_output_for_mask=True)(e)
    pair = L.Bidirectional(L.GRU(2), merge_mode="sum")(e)
    model = lib.Model(ids, [last, both, back, state, pair])
    randomize(model, 40 + version)
    feeds = {kind: np.where(mask, rng.integers(1, 9, mask.shape), 0).astype("int32")
             for kind, mask in paddings(rng, 7, steps).items()}
    compare(tmp_path, model, version, feeds, "embedding")


@pytest.mark.parametrize("version", [3, 2])
def test_masking_model(tmp_path, version):
    """Masking(mask_value) -> Bidirectional(GRU, sequences, merge_mode=None) and GRU(sequences) -> GRU -> Dense."""
    lib, L = LIBS[version], LIBS[version].layers
    rng = np.random.default_rng(50 + version)
    steps, features = 5, 3
    x = lib.Input((steps, features))
    masked = L.Masking(mask_value=0.5)(x)
    fw, bw = L.Bidirectional(L.GRU(3, return_sequences=True, reset_after=False), merge_mode=None)(masked)
    top = L.Dense(2)(L.GRU(2)(L.GRU(3, return_sequences=True)(masked)))
    model = lib.Model(x, [fw, bw, top, masked])
    randomize(model, 60 + version)
    feeds = {}
    for kind, mask in paddings(rng, 7, steps).items():
        values = rng.normal(size=(7, steps, features)).astype("float32")
        values[0, 1, 0] = 0.5  # one feature equal to mask_value does not mask the step
        feeds[kind] = np.where(mask[..., None], values, np.float32(0.5))
    compare(tmp_path, model, version, feeds, "masking")


def test_masked_gru_with_an_implicit_mask_and_initial_state_is_refused():
    """tf-keras keeps an implicit mask when a GRU also gets initial_state, Keras 3 drops it: not exported."""
    from helpers import raises

    lib, L = LIBS[2], LIBS[2].layers
    ids, h0 = lib.Input((4,), dtype="int32"), lib.Input((2,))
    out = L.GRU(2, name="gru")(L.Embedding(5, 3, mask_zero=True)(ids), initial_state=[h0])
    raises("layer 'gru' call: expected a mask or an initial_state, not both|got both", refgru.export_onnx,
           refgru.from_keras(lib.Model([ids, h0], out)), None)


def test_print_measured():
    """Not a check: prints the worst differences of the tests above (run with -s)."""
    for key, value in sorted(MEASURED.items()):
        print(f"{key}: {value:.2e}")
