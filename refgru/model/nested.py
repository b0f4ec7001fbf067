"""Models used as layers (nested ``Sequential``/``Functional``), unsupported-layer placeholders and listings.

A nested model runs its own :class:`~refgru.model.Model` on the tensors it is called with. Masks flow as
in Keras: the mask of its (first) input is set on its inner inputs, and its output masks are the masks
its inner outputs end up with (both tf-keras, whose ``Functional`` computes output and mask jointly, and
Keras 3, where the inner outputs keep their ``_keras_mask``).

Weights of nested models are stored in nested groups:

- ``.keras`` (Keras 3 and tf-keras): ``layers/<snake_case(class)>[_n]/layers/<...>``: the nested model's
  layers have their own per-class counters below its ``layers`` group, to any depth;
- ``.h5``: ``model_weights/<nested model name>`` holds ONE flat ``weight_names`` list for all its layers
  (to any depth), in the order of ``layer.trainable_weights + layer.non_trainable_weights``: first every
  trainable array, layer after layer, then every non-trainable one (``moving_mean``/``moving_variance``,
  and all arrays of a layer saved with ``trainable: false``). :class:`FlatWeights` splits that list
  back, asking each layer's builder which arrays its config needs (``expected`` of
  :func:`~refgru.model.registry.check_weights`'s error).
"""

from __future__ import annotations

from typing import Any

from ..errors import RefgruError, describe
from .config import Entry, Graph
from .registry import REGISTRY, Context, Layer, build, escape, where

#: Arrays that Keras creates with ``trainable=False`` (stored after all trainable ones in a nested ``.h5``).
NON_TRAINABLE = frozenset({"moving_mean", "moving_variance"})
#: Wrappers whose arrays are those of the layers they wrap, in this order of config keys.
WRAPPED = {"Bidirectional": ("layer", "backward_layer")}
#: How many unsupported layers and classes an error lists by name before "and N more".
MAX_LISTED = 20


class NestedModel(Layer):
    """A ``Sequential`` or ``Functional`` model used as a layer: ``inner`` is its refgru Model."""

    def __init__(self, cfg: dict, class_name: str, inner: Any):
        super().__init__(cfg, [w for layer in inner.layers for w in layer.weights], class_name)
        self.inner, self.sublayers = inner, list(inner.layers)
        self._masks: list = [None]

    def call(self, inputs, mask, kwargs):
        feeds = inputs if isinstance(inputs, list) else [inputs]
        masks = mask if isinstance(mask, list) else [mask] * len(feeds)
        if len(feeds) != len(self.inner.input_names):
            raise RefgruError(f"{where(self.config, self.class_name)} inputs: expected {len(self.inner.input_names)} "
                              f"tensors, got {describe(inputs)}")
        outputs, self._masks = self.inner.run_masked(feeds, masks)
        return outputs if len(outputs) > 1 else outputs[0]

    def compute_mask(self, inputs, mask):
        return self._masks if len(self._masks) > 1 else self._masks[0]

    def describe(self):
        return f"{self.inner.kind} of {len(self.inner.layers)} layers"


class Placeholder(Layer):
    """A layer refgru cannot run (``strict=False``): listed by ``summary``; calling it raises ``error``."""

    def __init__(self, cfg: dict, class_name: str, reason: str, error: RefgruError):
        super().__init__(cfg, (), class_name)
        self.reason, self.error = reason, error

    def call(self, inputs, mask, kwargs):
        raise self.error

    def describe(self):
        return f"NOT SUPPORTED: {self.reason}"


def unsupported(graph: Graph, prefix: str = "") -> list[tuple[str, str]]:
    """``[(path, class)]`` of every layer whose class refgru has no builder for, nested models included, in
    config order (recursion as deep as the nesting, which the parser bounds by ``MAX_MODEL_DEPTH``)."""
    found = []
    for entry in graph.entries:
        if entry.graph is not None:
            found += unsupported(entry.graph, f"{prefix}{entry.name}/")
        elif not entry.op and entry.class_name not in REGISTRY:
            found.append((prefix + entry.name, entry.class_name))
    return found


def _listed(items: list[str]) -> str:
    more = len(items) - MAX_LISTED
    return ", ".join(items[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


def listing_error(name: str, found: list[tuple[str, str]]) -> RefgruError:
    """One line naming every unsupported layer and class (the first :data:`MAX_LISTED` of each, then a count)."""
    classes = sorted({cls for _, cls in found})
    layers = _listed([f"layer {escape(path)} ({escape(cls, 60)[1:-1]})" for path, cls in found])
    plural = "es" if len(classes) > 1 else ""
    return RefgruError(f"model {escape(name)}: expected a supported layer class for every layer (see the table in "
                       f"docs/porting.md), got {len(found)} unsupported layer{'s' if len(found) > 1 else ''}: "
                       f"{layers}; unsupported class{plural} {_listed([escape(c, 60) for c in classes])}")


def arrays_needed(spec: dict, ctx: Context) -> list[str] | None:
    """The names of the arrays a layer config needs (its builder's ``check_weights``); None if unknown."""
    if spec.get("class_name") not in REGISTRY:
        return None
    keys = WRAPPED.get(spec["class_name"])
    if keys:
        cfg = spec.get("config", {})
        inner = [cfg.get(k) or cfg.get(keys[0]) for k in keys]
        needed = [arrays_needed(s, ctx) if isinstance(s, dict) else None for s in inner]
        return None if None in needed else [n for names in needed for n in names]
    try:
        build(spec, [], ctx)
    except RefgruError as exc:
        if not hasattr(exc, "expected"):
            raise
        return [name for name, _ in exc.expected]
    return []


def _leaves(graph: Graph, frozen: bool, path: tuple = ()):
    for entry in graph.entries:
        if entry.op:
            continue
        here = (*path, entry.name)
        off = frozen or entry.config.get("trainable") is False
        if entry.graph is not None:
            yield from _leaves(entry.graph, off, here)
        else:
            yield here, entry, off


class FlatWeights:
    """The arrays of a nested model in a ``.h5`` file (one flat list), split among its layers."""

    def __init__(self, arrays: list, entry: Entry, ctx: Context, strict: bool = True, split: dict | None = None,
                 path: tuple = ()):
        self.path = path
        if split is None:
            split = _split(arrays, entry, ctx)
        self.split = split

    def __call__(self, entry: Entry) -> list:
        arrays = self.split.get((*self.path, entry.name), [])
        if arrays is None:
            exc = RefgruError(f"{where(entry.config, entry.class_name)} weights: expected arrays that can be told "
                              "apart in the .h5 group of its nested model, got arrays that follow an unsupported "
                              "layer")
            exc.after_unsupported = True
            raise exc
        return arrays

    def child(self, entry: Entry, ctx: Context, strict: bool = True) -> "FlatWeights":
        return FlatWeights([], entry, ctx, strict, self.split, (*self.path, entry.name))


def _split(arrays: list, entry: Entry, ctx: Context) -> dict:
    """``{(layer, ...): arrays}`` for the leaves of nested model ``entry``; None where arrays are unknown."""
    leaves = []
    for path, leaf, frozen in _leaves(entry.graph, entry.config.get("trainable") is False):
        leaves.append((path, arrays_needed({"class_name": leaf.class_name, "config": leaf.config}, ctx), frozen))
    sections: list[list] = [[], []]  # (path, index in the layer's names): trainable, then non-trainable
    for path, names, frozen in leaves:
        if names is None:  # unknown arrays, maybe in both sections
            sections[0].append((path, None))
            sections[1].append((path, None))
        for i, name in enumerate(names or []):
            sections[int(frozen or name in NON_TRAINABLE)].append((path, i))
    order = sections[0] + sections[1]
    known = all(names is not None for _, names, _ in leaves)
    if known and len(order) != len(arrays):
        raise RefgruError(f"{where(entry.config, entry.class_name)} weights: expected {len(order)} arrays for its "
                          f"layers' configs, got {len(arrays)}")
    split: dict[tuple, Any] = {path: [None] * len(names) if names else ([] if names == [] else None)
                               for path, names, _ in leaves}
    for section, start in ((sections[0], 0), (sections[1], len(arrays) - len(sections[1]))):
        for offset, (path, i) in enumerate(section):
            if i is None:  # a layer whose arrays are unknown: nothing after it in this section can be placed
                break
            if known or section is sections[0]:
                split[path][i] = arrays[start + offset] if 0 <= start + offset < len(arrays) else None
    return {path: None if value is None or any(a is None for a in value) else value
            for path, value in split.items()}
