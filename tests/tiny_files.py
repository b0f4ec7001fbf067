"""Tiny valid model files built by hand with h5py and zipfile, without TensorFlow (for the robustness tests).

:func:`keras_bytes` is a Keras 3 ``.keras`` zip and :func:`h5_bytes` a tf-keras legacy ``.h5`` file, both
``Input(4, 3) -> GRU(2) -> Dense(1)``, with the layout docs/porting.md describes. :func:`expected`
is their prediction computed from the arrays with ``refgru.gru`` and the Dense formula: refgru's own
number, not Keras's. :func:`keras_predictions` is what Keras predicts for the same model (it needs Keras);
``tests/test_keras_agreement.py::test_tiny_files_expected_is_what_keras_predicts`` checks the two agree.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

import refgru

RNG = np.random.default_rng(7)
GRU_ARRAYS = [RNG.normal(size=s).astype("float32") for s in [(3, 6), (2, 6), (2, 6)]]  # GRU(2), 3 features
DENSE_ARRAYS = [RNG.normal(size=(2, 1)).astype("float32"), RNG.normal(size=(1,)).astype("float32")]
X = RNG.normal(size=(2, 4, 3)).astype("float32")


def keras_config() -> dict:
    """The Keras 3 ``config.json`` of the tiny Sequential model."""
    layers = [
        {"module": "keras.layers", "class_name": "InputLayer",
         "config": {"name": "x", "batch_shape": [None, 4, 3], "dtype": "float32"}},
        {"module": "keras.layers", "class_name": "GRU",
         "config": {"name": "gru", "units": 2, "reset_after": True, "activation": "tanh"}},
        {"module": "keras.layers", "class_name": "Dense",
         "config": {"name": "dense", "units": 1, "activation": "linear"}},
    ]
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "tiny", "layers": layers}}


def keras_weights_bytes(gru=GRU_ARRAYS, dense=DENSE_ARRAYS) -> bytes:
    """``model.weights.h5``: ``layers/<snake_case class>/<group>/vars/<i>``."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for i, array in enumerate(gru):
            f[f"layers/gru/cell/vars/{i}"] = array
        for i, array in enumerate(dense):
            f[f"layers/dense/vars/{i}"] = array
    return buffer.getvalue()


def keras_bytes(config: object = None, metadata: object = None, weights: bytes | None = None,
                members: dict[str, bytes] | None = None, compression: int = zipfile.ZIP_STORED) -> bytes:
    """A ``.keras`` zip; ``config``/``metadata`` are dumped as JSON unless given as bytes or str."""
    def dump(value):
        return value if isinstance(value, (bytes, str)) else json.dumps(value)
    files = {"metadata.json": dump({"keras_version": "3.15.1"} if metadata is None else metadata),
             "config.json": dump(keras_config() if config is None else config),
             "model.weights.h5": keras_weights_bytes() if weights is None else weights}
    files.update(members or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def h5_config() -> dict:
    """The tf-keras ``model_config`` of the same model."""
    layers = [
        {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [None, 4, 3], "dtype": "float32"}},
        {"class_name": "GRU", "config": {"name": "gru", "units": 2, "reset_after": True, "activation": "tanh",
                                         "recurrent_activation": "sigmoid", "use_bias": True}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "linear", "use_bias": True}},
    ]
    return {"class_name": "Sequential", "config": {"name": "tiny", "layers": layers}}


def h5_bytes(config: object = None, version: str = "2.21.0", gru=GRU_ARRAYS, dense=DENSE_ARRAYS,
             extra_groups: tuple[str, ...] = ()) -> bytes:
    """A legacy ``.h5`` file: root attributes ``model_config``, ``keras_version``; ``model_weights/<layer>``."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["model_config"] = config if isinstance(config, (bytes, str)) else json.dumps(config or h5_config())
        f.attrs["keras_version"] = version
        f.attrs["backend"] = "tensorflow"
        root = f.create_group("model_weights")
        for layer, names, arrays in [("gru", ["gru/gru_cell/kernel:0", "gru/gru_cell/recurrent_kernel:0",
                                              "gru/gru_cell/bias:0"], gru),
                                     ("dense", ["dense/kernel:0", "dense/bias:0"], dense)]:
            group = root.create_group(layer)
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, array in zip(names, arrays, strict=True):
                group[name] = array
        root.create_group("x").attrs["weight_names"] = np.array([], dtype="S1")
        for path in extra_groups:
            f.create_group(path)
    return buffer.getvalue()


def expected(x: np.ndarray = X) -> np.ndarray:
    """refgru's prediction for the tiny model, ``Dense(GRU(x))`` ``(B, 1)``, from the arrays (no Keras involved).

    It equals Keras's ``predict`` (see :func:`keras_predictions`) in the Keras tier.
    """
    return refgru.gru(x, GRU_ARRAYS) @ DENSE_ARRAYS[0] + DENSE_ARRAYS[1]


def keras_predictions(directory, x: np.ndarray = X) -> dict[str, np.ndarray]:
    """Keras's own predictions for the tiny model: ``{"keras 3 .keras file": ..., "tf_keras": ...}``.

    Keras 3 loads the hand-built :func:`keras_bytes` file (written into ``directory``), so this also shows
    that Keras accepts it; tf-keras builds the same Sequential and is given the arrays with ``set_weights``.
    Needs Keras: the calling test is skipped without it.
    """
    import pytest

    keras_ref = pytest.importorskip("keras_ref")
    path = directory / "tiny.keras"
    path.write_bytes(keras_bytes())
    model3 = keras_ref.LIBS[3].saving.load_model(str(path))
    layers = keras_ref.LIBS[2].layers
    model2 = keras_ref.LIBS[2].Sequential([layers.InputLayer(input_shape=(4, 3)), layers.GRU(2), layers.Dense(1)])
    model2.set_weights(GRU_ARRAYS + DENSE_ARRAYS)
    return {"keras 3 .keras file": model3.predict(x, verbose=0), "tf_keras": model2.predict(x, verbose=0)}
