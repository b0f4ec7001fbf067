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
from .config import Entry, Graph, parse_model_config
from .files import major_version, open_model_file
from .layer_modules import register_all
from .model import Model
from .nested import NestedModel, Placeholder, listing_error, unsupported
from .ops import build_op
from .registry import REGISTRY, Context, build, escape, unexpected, where

register_all()  # the builders of every layer class, before anything here (or refgru.model.REGISTRY) is read


def build_model(graph: Graph, weights: Callable[[Entry], list[np.ndarray]], keras_version: int,
                version_string: str = "", source: str = "", strict: bool = True) -> Model:
    """Build every layer of ``graph`` with ``weights(entry)`` (arrays in ``get_weights()`` order).

    ``weights.child(entry, ctx, strict)`` gives the weights of a nested model's layers. With ``strict``, a
    model with unsupported layers is refused in one :class:`RefgruError` naming every one of them; without,
    they become placeholders (every other error is raised as with ``strict``): ``model.problems`` lists
    them and running the model raises ``model.unusable``, that same one-line error."""
    found = unsupported(graph)
    if strict and found:
        raise listing_error(graph.name, found)
    model = _build(graph, weights, keras_version, version_string, source, strict, "")
    if model.problems:
        model.unusable = listing_error(graph.name, found) if found else RefgruError(model.problems[0][2])
    return model


def _build(graph: Graph, weights: Any, keras_version: int, version_string: str, source: str, strict: bool,
           prefix: str) -> Model:
    ctx = Context(keras_version, build=lambda spec, arrays: build(spec, arrays, ctx))
    built: dict[str, Any] = {}
    problems: list[tuple[str, str, str]] = []
    for entry in graph.entries:
        try:
            if entry.op:
                built[entry.name] = build_op(entry.class_name, entry.config, entry.name)
            elif entry.graph is not None:
                if not callable(getattr(weights, "child", None)):
                    raise RefgruError(f"{where(entry.config, entry.class_name)} weights: expected a weights source "
                                      "with child() for a nested model, got a plain function")
                inner = _build(entry.graph, weights.child(entry, ctx, strict), keras_version, version_string, source,
                               strict, f"{prefix}{entry.name}/")
                problems += inner.problems
                built[entry.name] = NestedModel(entry.config, entry.class_name, inner)
            elif entry.class_name not in REGISTRY:
                raise RefgruError(f"{where(entry.config, entry.class_name)}: expected a supported layer class, "
                                  f"got unsupported class {escape(entry.class_name)}")
            else:
                built[entry.name] = build({"class_name": entry.class_name, "config": entry.config}, weights(entry), ctx)
        except RefgruError as exc:
            # strict=False tolerates unsupported classes (and the arrays a nested .h5 list holds after one)
            # only: a damaged or hostile file, or a config that contradicts its arrays, is refused as always
            unknown = not entry.op and entry.graph is None and entry.class_name not in REGISTRY
            if strict or not (unknown or getattr(exc, "after_unsupported", False)):
                raise
            reason = f"unsupported class {escape(entry.class_name)}" if unknown else str(exc)
            built[entry.name] = Placeholder(entry.config, entry.class_name, reason, exc)
            problems.append((prefix + entry.name, entry.class_name, reason))
    model = Model(graph, built, keras_version, version_string, source)
    model.problems = problems
    return model


def load_model(source: str | os.PathLike | bytes | BinaryIO, strict: bool = True) -> Model:
    """Load a saved Keras model with NumPy and pyfive only.

    Arguments:
        source: a ``.keras`` zip (Keras 3 or tf-keras) or a legacy ``.h5`` file (tf-keras, Keras 2.x,
            Keras 3), as a path, as ``bytes`` (the file's content) or as a binary file object; it is
            read once, and the format is recognised from the content.
        strict: refuse a model with unsupported layers (one error naming every one). ``strict=False``
            loads it for inspection: unsupported layers become placeholders, shown by ``summary()``
            (``model.problems`` lists them), ``gru_layers()`` finds every GRU, and ``predict`` raises
            the same one-line error that ``strict=True`` raises when loading.

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
        return build_model(graph, getter, opened.keras_version, opened.version_string, str(name), strict)


def from_keras(keras_model: Any, strict: bool = True) -> Model:
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

    source = f"<{top} model {keras_model.name!r}>"
    model = build_model(graph, KerasWeights(keras_model), version, getattr(package, "__version__", ""), source, strict)
    try:  # a Keras 3 model built with a tuple of outputs predicts a tuple; its JSON config has only lists
        model.tuple_outputs = isinstance(keras_model.output, tuple)
    except (AttributeError, ValueError):
        pass
    return model


class KerasWeights:
    """The arrays of an in-memory Keras model's layers (``layer.get_weights()``), nested models included."""

    def __init__(self, keras_model: Any):
        self.keras_model = keras_model

    def _layer(self, entry: Entry) -> Any:
        try:
            return self.keras_model.get_layer(entry.name)
        except ValueError:  # a Sequential's InputLayer is not one of its layers
            return None

    def __call__(self, entry: Entry) -> list[np.ndarray]:
        layer = self._layer(entry)
        return [] if layer is None else [np.asarray(w) for w in layer.get_weights()]

    def child(self, entry: Entry, ctx: Any, strict: bool = True) -> "KerasWeights":
        return KerasWeights(self._layer(entry))
