"""Hand-made model files for the ``load_model`` tests: old Keras 2.1.4 and CuDNNGRU files, and broken ones.

``build_legacy(directory)`` writes them and computes the reference outputs with tf-keras:

- ``old_keras_2.1.4.h5``: what standalone Keras 2.1.4 wrote (``shared/keras-facts.md``): a bare-list
  Sequential config, no ``reset_after`` key, ``implementation: 1``, ``hard_sigmoid``, and weights at
  ``model_weights/<layer>/<layer>/<name>:0`` without a ``gru_cell`` level. Reference: tf-keras
  ``GRU(reset_after=False, recurrent_activation="hard_sigmoid")`` with the same arrays;
- ``cudnn_gru.h5``: a Keras 2.2.4 ``CuDNNGRU`` layer (``(6u,)`` bias). Reference: a tf-keras
  ``GRU(reset_after=True)`` given tf-keras's own ``preprocess_weights_for_loading`` of those arrays;
- ``gru_cudnn_bias.h5``: a tf-keras GRU file whose GRU holds CuDNNGRU arrays. Reference: tf-keras's
  ``load_model`` of that very file, which converts them on load.

``ERRORS`` lists broken or refused files with words their ``RefgruError`` must contain.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
from model_runs import flatten, save_steps
from model_zoo import masked_input, normal, save

T, F = 5, 3


def _init(name):
    return {"class_name": name, "config": {}}


def _old_gru(name, units, **options):
    """A Keras 2.1.4 GRU config: no reset_after key, implementation 1, hard_sigmoid."""
    config = {
        "name": name,
        "trainable": True,
        "units": units,
        "activation": "tanh",
        "recurrent_activation": "hard_sigmoid",
        "use_bias": True,
        "kernel_initializer": _init("VarianceScaling"),
        "recurrent_initializer": _init("Orthogonal"),
        "bias_initializer": _init("Zeros"),
        "kernel_regularizer": None,
        "recurrent_regularizer": None,
        "bias_regularizer": None,
        "activity_regularizer": None,
        "kernel_constraint": None,
        "recurrent_constraint": None,
        "bias_constraint": None,
        "dropout": 0.0,
        "recurrent_dropout": 0.0,
        "implementation": 1,
        "return_sequences": False,
        "return_state": False,
        "go_backwards": False,
        "stateful": False,
        "unroll": False,
    }
    return {"class_name": "GRU", "config": {**config, **options}}


def write_h5(path, model_config, weights, keras_version):
    """An ``.h5`` as ``model.save`` wrote it: ``weights = [(layer, [(weight name, array)])]``."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = np.bytes_(keras_version)
        f.attrs["backend"] = np.bytes_("tensorflow")
        f.attrs["model_config"] = np.bytes_(json.dumps(model_config))
        root = f.create_group("model_weights")
        root.attrs["layer_names"] = np.array([layer for layer, _ in weights], dtype="S")
        root.attrs["keras_version"], root.attrs["backend"] = np.bytes_(keras_version), np.bytes_("tensorflow")
        for layer, arrays in weights:
            group = root.create_group(layer)
            group.attrs["weight_names"] = np.array([name for name, _ in arrays], dtype="S")
            for name, array in arrays:
                group.create_dataset(name, data=array)


def random(rng, *shape, scale=1.0):
    return (rng.uniform(0.05, 1.0, shape) * rng.choice([-1, 1], shape) * scale).astype("float32")


def old_keras_file(directory, rng):
    """Masking -> GRU(4, return_sequences) -> GRU(3, go_backwards) -> Dense(2), as Keras 2.1.4 saved it."""
    import tf_keras

    layers = [
        {
            "class_name": "Masking",
            "config": {
                "name": "masking_1",
                "trainable": True,
                "batch_input_shape": [None, T, F],
                "dtype": "float32",
                "mask_value": 0.0,
            },
        },
        _old_gru("gru_1", 4, return_sequences=True),
        _old_gru("gru_2", 3, go_backwards=True),
        {
            "class_name": "Dense",
            "config": {
                "name": "dense_1",
                "trainable": True,
                "units": 2,
                "activation": "linear",
                "use_bias": True,
                "kernel_initializer": _init("VarianceScaling"),
            },
        },
    ]
    shapes = {"gru_1": [(F, 12), (4, 12), (12,)], "gru_2": [(4, 9), (3, 9), (9,)], "dense_1": [(3, 2), (2,)]}
    arrays = {layer: [random(rng, *s, scale=1.5) for s in ss] for layer, ss in shapes.items()}
    names = {
        "gru_1": ["kernel", "recurrent_kernel", "bias"],
        "gru_2": ["kernel", "recurrent_kernel", "bias"],
        "dense_1": ["kernel", "bias"],
    }
    weights = [("masking_1", [])] + [
        (layer, [(f"{layer}/{n}:0", a) for n, a in zip(names[layer], arrays[layer], strict=True)]) for layer in shapes
    ]
    path = os.path.join(directory, "old_keras_2.1.4.h5")
    write_h5(path, {"class_name": "Sequential", "config": layers}, weights, "2.1.4")
    L = tf_keras.layers
    old = {"reset_after": False, "recurrent_activation": "hard_sigmoid"}
    reference = tf_keras.Sequential(
        [
            tf_keras.Input((T, F)),
            L.Masking(),
            L.GRU(4, return_sequences=True, **old),
            L.GRU(3, go_backwards=True, **old),
            L.Dense(2),
        ]
    )
    reference.set_weights(arrays["gru_1"] + arrays["gru_2"] + arrays["dense_1"])
    x = 2 * masked_input(rng)
    return path, [("predict", x)], [np.asarray(reference(x))]


def cudnn_arrays(rng, units):
    return [random(rng, F, 3 * units), random(rng, units, 3 * units), random(rng, 6 * units)]


def cudnn_file(directory, rng):
    """A Keras 2.2.4 Sequential [InputLayer, CuDNNGRU(4), Dense(2)] holding CuDNNGRU arrays."""
    import tf_keras
    from tf_keras.src.saving.legacy.hdf5_format import preprocess_weights_for_loading

    gru, dense = cudnn_arrays(rng, 4), [random(rng, 4, 2), random(rng, 2)]
    layers = [
        {
            "class_name": "InputLayer",
            "config": {"name": "input_1", "batch_input_shape": [None, T, F], "dtype": "float32"},
        },
        {
            "class_name": "CuDNNGRU",
            "config": {
                "name": "cu_dnngru_1",
                "trainable": True,
                "units": 4,
                "return_sequences": False,
                "return_state": False,
                "go_backwards": False,
                "stateful": False,
            },
        },
        {
            "class_name": "Dense",
            "config": {"name": "dense_1", "trainable": True, "units": 2, "activation": "linear", "use_bias": True},
        },
    ]
    weights = [
        ("input_1", []),
        (
            "cu_dnngru_1",
            [(f"cu_dnngru_1/{n}:0", a) for n, a in zip(["kernel", "recurrent_kernel", "bias"], gru, strict=True)],
        ),
        ("dense_1", [("dense_1/kernel:0", dense[0]), ("dense_1/bias:0", dense[1])]),
    ]
    path = os.path.join(directory, "cudnn_gru.h5")
    write_h5(path, {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": layers}}, weights, "2.2.4")
    reference = tf_keras.Sequential(
        [tf_keras.Input((T, F)), tf_keras.layers.GRU(4, reset_after=True), tf_keras.layers.Dense(2)]
    )
    reference.layers[0].set_weights(preprocess_weights_for_loading(reference.layers[0], gru))
    reference.layers[1].set_weights(dense)
    x = normal(rng, 3, T, F)
    return path, [("predict", x)], [np.asarray(reference(x))]


def gru_cudnn_bias_file(directory, rng):
    """A tf-keras .h5 whose GRU(reset_after=True) holds CuDNNGRU arrays; tf-keras's load_model converts them."""
    import h5py
    import tf_keras

    model = tf_keras.Sequential([tf_keras.Input((T, F)), tf_keras.layers.GRU(4, name="gru"), tf_keras.layers.Dense(2)])
    model.set_weights([random(rng, *w.shape) for w in model.get_weights()])
    path = os.path.join(directory, "gru_cudnn_bias.h5")
    save(model, path)
    with h5py.File(path, "r+") as f:
        group = f["model_weights/gru/gru/gru_cell"]
        for name, array in zip(["kernel:0", "recurrent_kernel:0", "bias:0"], cudnn_arrays(rng, 4), strict=True):
            del group[name]
            group.create_dataset(name, data=array)
    x = normal(rng, 3, T, F)
    return path, [("predict", x)], [np.asarray(tf_keras.models.load_model(path, compile=False)(x))]


def keras20_embedding_file(directory, rng):
    """Keras 2.0.4: a bare-list Sequential whose Embedding says ``dtype: "int32"`` (its input's dtype; its
    embeddings are float32), then an old GRU. Reference: tf-keras with the same arrays."""
    import tf_keras

    embedding = {"class_name": "Embedding", "config": {
        "name": "embedding_1", "trainable": True, "batch_input_shape": [None, 6], "dtype": "int32",
        "input_dim": 10, "output_dim": 4, "embeddings_initializer": _init("RandomUniform"),
        "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None,
        "mask_zero": True, "input_length": 6}}
    dense = {"class_name": "Dense", "config": {"name": "dense_1", "trainable": True, "units": 2,
                                               "activation": "linear", "use_bias": True}}
    table, gru = random(rng, 10, 4), [random(rng, 4, 9), random(rng, 3, 9), random(rng, 9)]
    head = [random(rng, 3, 2), random(rng, 2)]
    weights = [("embedding_1", [("embedding_1/embeddings:0", table)]),
               ("gru_1", [(f"gru_1/{n}:0", a) for n, a in zip(["kernel", "recurrent_kernel", "bias"], gru,
                                                               strict=True)]),
               ("dense_1", [("dense_1/kernel:0", head[0]), ("dense_1/bias:0", head[1])])]
    path = os.path.join(directory, "keras_2.0.4_embedding.h5")
    write_h5(path, {"class_name": "Sequential", "config": [embedding, _old_gru("gru_1", 3), dense]}, weights, "2.0.4")
    L = tf_keras.layers
    reference = tf_keras.Sequential([tf_keras.Input((6,), dtype="int32"), L.Embedding(10, 4, mask_zero=True),
                                     L.GRU(3, reset_after=False, recurrent_activation="hard_sigmoid"), L.Dense(2)])
    reference.set_weights([table, *gru, *head])
    x = rng.integers(1, 10, size=(3, 6)).astype("int32")
    x[0, :2], x[1, 4:] = 0, 0
    return path, [("predict", x)], [np.asarray(reference(x))]


LEGACY = {"old_keras_2.1.4": old_keras_file, "cudnn_gru": cudnn_file, "gru_cudnn_bias": gru_cudnn_bias_file,
          "keras_2.0.4_embedding": keras20_embedding_file}


# --- files refgru must refuse: (maker(directory, base) -> path, words the RefgruError must contain) -------


def _copy_prefix(source, path, fraction=0.6):
    with open(source, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * fraction)])
    return path


def _write(path, data: bytes):
    with open(path, "wb") as f:
        f.write(data)
    return path


def _rezip(source, path, edit):
    """Copy a .keras zip, passing each member's bytes through ``edit(name, data) -> data or None``."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            data = edit(name, src.read(name))
            if data is not None:
                dst.writestr(name, data)
    return path


def _more_units(name, data):
    if name != "config.json":
        return data
    config = json.loads(data)
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "GRU":
            layer["config"]["units"] += 1
    return json.dumps(config).encode()


def _h5_edit(source, path, edit):
    import shutil

    import h5py

    shutil.copy(source, path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _dense_units(f):
    config = json.loads(f.attrs["model_config"])
    config["config"]["layers"][-1]["config"]["units"] = 5
    f.attrs["model_config"] = json.dumps(config)


def _keras3_model(directory, name, *layers):
    import keras

    path = os.path.join(directory, f"{name}.keras")
    save(keras.Sequential([keras.Input((T, F)), *layers]), path)
    return path


def marker(directory, name):
    """The file a refused Lambda would create if anything ran it."""
    return os.path.join(directory, f"{name}-ran")


def _lambda(lib_name, ext):
    def make(directory, base):
        import importlib

        lib = importlib.import_module(lib_name)
        touched = marker(directory, f"lambda_{lib_name}")
        fn = eval(f"lambda x: (__import__('pathlib').Path({touched!r}).touch(), x)[1]")  # noqa: S307
        model = lib.Sequential([lib.Input((T, F)), lib.layers.Lambda(fn), lib.layers.GRU(2)])
        path = os.path.join(directory, f"lambda_{lib_name}{ext}")
        save(model, path)
        os.remove(touched)  # Keras ran it while building; the NumPy side must not run it again
        return path

    return make


def _custom_layer(directory, base):
    import keras

    @keras.saving.register_keras_serializable(package="zoo_test")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    return _keras3_model(directory, "custom_layer", Doubler(name="doubler"), keras.layers.GRU(2))


ERRORS = {
    "missing": (lambda d, b: os.path.join(d, "no-such-model.keras"), ["does not exist"]),
    "directory": (lambda d, b: d, ["is a directory"]),
    "random_bytes": (
        lambda d, b: _write(os.path.join(d, "random.keras"), np.random.default_rng(0).bytes(500)),
        ["expected a Keras .keras zip or .h5"],
    ),
    "not_zip": (
        lambda d, b: _write(os.path.join(d, "text.keras"), b"model = 'gru'\n"),
        ["expected a Keras .keras zip or .h5"],
    ),
    "hdf5_garbage": (
        lambda d, b: _write(os.path.join(d, "garbage.h5"), b"\x89HDF\r\n\x1a\n" + bytes(300)),
        ["HDF5", "damaged"],
    ),
    "truncated_keras": (
        lambda d, b: _copy_prefix(b["keras"], os.path.join(d, "truncated.keras")),
        ["damaged or truncated"],
    ),
    "truncated_h5": (lambda d, b: _copy_prefix(b["h5"], os.path.join(d, "truncated.h5")), ["damaged or truncated"]),
    "zip_without_config": (
        lambda d, b: _rezip(
            b["keras"], os.path.join(d, "noconfig.keras"), lambda n, data: None if n == "config.json" else data
        ),
        ["without config.json"],
    ),
    "zip_bad_json": (
        lambda d, b: _rezip(
            b["keras"], os.path.join(d, "badjson.keras"), lambda n, data: b"{not json" if n == "config.json" else data
        ),
        ["config.json", "expected JSON"],
    ),
    "shape_contradiction_keras": (
        lambda d, b: _rezip(b["keras"], os.path.join(d, "units.keras"), _more_units),
        ["layer 'gru' (GRU) weights", "(5, 15)"],
    ),
    "shape_contradiction_h5": (
        lambda d, b: _h5_edit(b["h5"], os.path.join(d, "units.h5"), _dense_units),
        ["(Dense) weights", "(5,)"],
    ),
    "keras1_version": (
        lambda d, b: _h5_edit(
            b["h5"], os.path.join(d, "keras1.h5"), lambda f: f.attrs.__setitem__("keras_version", "1.2.2")
        ),
        ["Keras 2.x or 3.x version", "1.2.2"],
    ),
    "weights_only_h5": (lambda d, b: b["weights"], ["model_config", "save_weights"]),
    "lambda_keras": (_lambda("keras", ".keras"), ["(Lambda)", "Python code", "never runs code"]),
    "lambda_tf_keras": (_lambda("tf_keras", ".h5"), ["(Lambda)", "Python code", "never runs code"]),
    "custom_layer": (_custom_layer, ["custom object", "Doubler"]),
    "unsupported_conv1d_transpose": (  # LSTM was the example until issue 15 supported it
        lambda d, b: _keras3_model(d, "deconv", __import__("keras").layers.Conv1DTranspose(2, 2, name="deconv")),
        ["layer 'deconv' (Conv1DTranspose)", "unsupported class 'Conv1DTranspose'"],
    ),
}


def build_legacy(directory):
    """Write the LEGACY files (with tf-keras's results) and the ERRORS files; return ``(jobs, expected)``."""
    import keras
    import tf_keras

    jobs, expected = [], {}
    for name, make in LEGACY.items():
        path, steps, results = make(directory, np.random.default_rng(sum(map(ord, name))))
        inputs = os.path.join(directory, f"legacy-{name}-inputs.npz")
        jobs.append({"id": f"legacy/{name}", "path": path, "steps": save_steps(steps, inputs), "inputs": inputs})
        expected[f"legacy/{name}"] = flatten(results)
    base = {
        "keras": os.path.join(directory, "base.keras"),
        "h5": os.path.join(directory, "base.h5"),
        "weights": os.path.join(directory, "base.weights.h5"),
    }
    save(
        keras.Sequential([keras.Input((T, F)), keras.layers.GRU(4, name="gru"), keras.layers.Dense(2, name="dense")]),
        base["keras"],
    )
    tf_model = tf_keras.Sequential(
        [tf_keras.Input((T, F)), tf_keras.layers.GRU(4, name="gru"), tf_keras.layers.Dense(2, name="dense")]
    )
    save(tf_model, base["h5"])
    tf_model.save_weights(base["weights"])
    for name, (make, _) in ERRORS.items():
        jobs.append({"id": f"error/{name}", "path": make(directory, base), "expect_error": True})
    return jobs, expected
