"""``load_model`` (from a ``.keras`` or ``.h5`` file) and ``from_keras`` (from an in-memory model).

Both parse the config, refuse code and unknown classes, then build every layer through the registry
with its arrays. Nothing from the file is executed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, BinaryIO, Callable

import numpy as np

from ..errors import RefgruError, describe
from . import (  # noqa: F401  (their @register calls fill the registry)
    layers_act,
    layers_attention,
    layers_basic,
    layers_cells,
    layers_conv,
    layers_norm,
    layers_pool,
    layers_rnn,
    layers_shape,
)
from .config import Entry, Graph, parse_model_config
from .files import major_version, open_model_file
from .model import Model
from .ops import build_op
from .registry import Context, build, unexpected


def build_model(graph: Graph, weights: Callable[[Entry], list[np.ndarray]], keras_version: int,
                version_string: str = "", source: str = "") -> Model:
    """Build every layer of ``graph`` with ``weights(entry)`` (arrays in ``get_weights()`` order)."""
    ctx = Context(keras_version, build=lambda spec, arrays: build(spec, arrays, ctx))
    built: dict[str, Any] = {}
    for entry in graph.entries:
        if entry.op:
            built[entry.name] = build_op(entry.class_name, entry.config, entry.name)
        else:
            built[entry.name] = build({"class_name": entry.class_name, "config": entry.config}, weights(entry), ctx)
    return Model(graph, built, keras_version, version_string, source)


def load_model(source: str | os.PathLike | bytes | BinaryIO) -> Model:
    """Load a saved Keras model with NumPy and pyfive only.

    Arguments:
        source: a ``.keras`` zip (Keras 3 or tf-keras) or a legacy ``.h5`` file (tf-keras, Keras 2.x,
            Keras 3), as a path, as ``bytes`` (the file's content) or as a binary file object; it is
            read once, and the format is recognised from the content.

    Returns:
        A :class:`~refgru.model.Model`. The Keras version that saved the file decides version-dependent
        semantics (``hard_sigmoid``, mask merging, the output container).

    Raises:
        RefgruError: a missing, damaged, truncated or hostile file, an unsupported or code-carrying layer
            (``Lambda``, custom objects), or weights whose shapes contradict the config. Nothing else
            escapes (see ``docs/security.md``).
    """
    with unexpected("model file"):
        opened = open_model_file(source)
        graph = parse_model_config(opened.config)
        getter = opened.weights(graph.entries)
        name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else f"<{type(source).__name__}>"
        return build_model(graph, getter, opened.keras_version, opened.version_string, str(name))


def from_keras(keras_model: Any) -> Model:
    """The refgru :class:`~refgru.model.Model` of an in-memory Keras 3 or tf-keras model.

    The model's JSON config and ``layer.get_weights()`` are read; tf-keras models get Keras 2 semantics.
    Outputs have the structure the model's ``predict`` returns, a tuple included.
    """
    top = type(keras_model).__module__.split(".")[0]
    package = sys.modules.get(top)
    if top not in ("keras", "tf_keras") or not hasattr(keras_model, "to_json"):
        raise RefgruError(f"keras_model: expected a keras or tf_keras Model, got {describe(keras_model)}")
    version = major_version(getattr(package, "__version__", "?"), f"{top}.__version__")
    try:
        config = json.loads(keras_model.to_json())
    except (NotImplementedError, TypeError, ValueError) as exc:
        raise RefgruError(f"keras_model: expected a Sequential or Functional model with a config, got {exc}") from None
    graph = parse_model_config(config)

    def weights(entry: Entry) -> list[np.ndarray]:
        try:
            layer = keras_model.get_layer(entry.name)
        except ValueError:  # a Sequential's InputLayer is not one of its layers
            return []
        return [np.asarray(w) for w in layer.get_weights()]
    source = f"<{top} model {keras_model.name!r}>"
    model = build_model(graph, weights, version, getattr(package, "__version__", ""), source)
    try:  # a Keras 3 model built with a tuple of outputs predicts a tuple; its JSON config has only lists
        model.tuple_outputs = isinstance(keras_model.output, tuple)
    except (AttributeError, ValueError):
        pass
    return model
