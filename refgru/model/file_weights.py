"""Where a layer's arrays are in a saved Keras file, for :mod:`refgru.model.files` (which reads the file).

``.keras`` (:class:`ZipWeights`): ``model.weights.h5`` groups are
``layers/<snake_case(class)>[_<n>]/<var group>/vars/<i>``: named by class plus a per-class counter in layer
order, not by layer name; a nested model's layers are below ``<its group>/layers/`` with their own
counters (see :mod:`refgru.model.nested`).

``.h5`` (:class:`H5Weights`): group ``model_weights`` with a group per layer name whose ``weight_names``
attribute lists its datasets in ``get_weights()`` order; a nested model's group holds one flat list for
all its layers.

Every dataset is returned lazy (:meth:`refgru.model.hdf5.H5File.dataset`): a layer's builder checks its
shape against the config before it is read.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..errors import RefgruError, describe
from .config import Entry
from .guard import guard
from .registry import KERAS_VAR_GROUPS, escape


def snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: ``TimeDistributed -> time_distributed``, ``GRU -> gru``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _attr_list(h5: Any, group: Any, name: str) -> list[str]:
    """An attribute list that Keras may have split into ``name0, name1, ...`` chunks."""
    attrs = h5.attrs(group)
    if name in attrs:
        values = attrs[name]
    else:
        values, i = [], 0
        while f"{name}{i}" in attrs:
            values += _strings(attrs[f"{name}{i}"], f"{group.path!r} attribute {name}{i}")
            i += 1
    return _strings(values, f"{group.path!r} attribute {name!r}")


def _strings(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise RefgruError(f"{what}: expected a list of strings, got {describe(value)}")


def _lazy_dataset(h5: Any, node: Any, what: str) -> Any:
    if node is None:
        raise RefgruError(f"{what}: expected a dataset, got a missing link")
    return h5.dataset(node, f"{what} dataset {escape(node.path)}")


class ZipWeights:
    """Weights of a ``.keras`` file: ``<prefix>/<snake_case(class)>[_n]/<group>/<i>`` per layer, counted per
    class in layer order; a nested model's layers below ``<its path>/layers``, with counters of their own."""

    def __init__(self, h5: Any, entries: list[Entry], prefix: str = "layers"):
        self.h5, self.paths, counts = h5, {}, {}
        for entry in entries:
            if entry.op:
                continue
            base = snake_case(entry.class_name)
            n = counts.get(base, -1) + 1
            counts[base] = n
            self.paths[entry.name] = f"{prefix}/{base}" + (f"_{n}" if n else "")

    def __call__(self, entry: Entry) -> list[Any]:
        h5, what = self.h5, f"{self.h5.what} weights of layer {escape(entry.name)}"
        with guard(what):
            arrays = []
            groups = KERAS_VAR_GROUPS.get(entry.class_name, ("vars",))
            for group in groups(entry.config) if callable(groups) else groups:  # by config: RNN cells
                node = h5.get(f"{self.paths.get(entry.name, '?')}/{group}")
                if node is None:
                    continue
                keys = sorted(h5.links(node), key=lambda k: int(k) if k.isdigit() else -1)
                arrays += [_lazy_dataset(h5, h5.get(k, node), what) for k in keys]
            return arrays

    def child(self, entry: Entry, ctx: Any, strict: bool = True) -> "ZipWeights":
        return ZipWeights(self.h5, entry.graph.entries, f"{self.paths[entry.name]}/layers")


def keras_zip_weights(h5: Any) -> Callable[[list[Entry]], ZipWeights]:
    """``entries -> ZipWeights``: the weights of a ``.keras`` file's layers."""
    return lambda entries: ZipWeights(h5, entries)


class H5Weights:
    """Weights of a legacy ``.h5`` file: ``model_weights/<layer name>/<weight_names[i]>``; a nested model's
    group holds one flat list for all its layers (split by :class:`refgru.model.nested.FlatWeights`)."""

    def __init__(self, h5: Any):
        with guard("model_weights"):
            self.root = h5.get("model_weights")
        if self.root is None:
            raise RefgruError("model_weights: expected the group of a model saved with model.save(), "
                              "got a file without it")
        self.h5 = h5

    def __call__(self, entry: Entry) -> list[Any]:
        h5, what = self.h5, f"{self.h5.what} weights of layer {escape(entry.name)}"
        with guard(what):
            group = h5.get(entry.name, self.root)
            if group is None:
                return []
            arrays = []
            for name in _attr_list(h5, group, "weight_names"):
                node = h5.get(name, group)
                if node is None:
                    raise RefgruError(f"{what}: expected the dataset {escape(name)} that weight_names lists, got none")
                arrays.append(_lazy_dataset(h5, node, what))
            return arrays

    def child(self, entry: Entry, ctx: Any, strict: bool = True) -> Any:
        from .nested import FlatWeights

        return FlatWeights(self(entry), entry, ctx, strict)


def legacy_h5_weights(h5: Any) -> Callable[[list[Entry]], H5Weights]:
    """``entries -> H5Weights``: the weights of a legacy ``.h5`` file's layers."""
    weights = H5Weights(h5)
    return lambda entries: weights
