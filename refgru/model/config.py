"""Parse a saved Keras model config into a :class:`Graph`, refusing anything that holds code.

Formats read:

- ``Sequential``: ``{"layers": [...]}`` (tf-keras, Keras 3) or a bare list of layers (Keras <= 2.1);
  without an ``InputLayer`` the input comes from the first layer's ``batch_input_shape``;
- ``Functional`` (``Model`` in old files): ``input_layers``, ``output_layers`` and per-layer
  ``inbound_nodes``, either Keras 2 lists ``[[name, node, tensor, {kwargs}], ...]`` or Keras 3 dicts
  ``{"args": [...], "kwargs": {...}}`` whose tensors are ``{"class_name": "__keras_tensor__"}`` entries.

Safety: :func:`check_safe` walks the whole config before anything else happens and refuses
``Lambda``-like layers (their config holds marshalled Python bytecode) and custom objects (their
class lives in the user's code). Nothing in a config is ever imported, evaluated or unpickled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import RefgruError, describe
from .ops import OP_ARITY, is_op
from .registry import escape

#: Classes that carry Python code in the file; refgru refuses them instead of running it.
CODE_CLASSES = {"Lambda", "TFOpLambda", "SlicingOpLambda", "__lambda__", "function_lambda"}
SAFE_MODULES = ("keras", "tf_keras", "builtins")
#: The largest integer a config may hold (sizes, axes, counts) ...
MAX_CONFIG_INT = 2**31 - 1
#: ... except these keys, whose values are identifiers rather than sizes (64 bits).
WIDE_INT_KEYS = {"seed", "shared_object_id"}
#: The dtype names a config may hold (``dtype`` keys, DTypePolicy names); anything else is refused.
DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64", "bool", "string", "mixed_float16", "mixed_bfloat16"}
#: Model classes that may appear as a layer of another model; each is parsed into its own :class:`Graph`.
MODEL_CLASSES = ("Sequential", "Functional", "Model")
#: How deep models may nest inside models (a model in a model is depth 2): a hostile file cannot recurse.
MAX_MODEL_DEPTH = 16


@dataclass(frozen=True)
class Ref:
    """A tensor in the graph: output ``tensor`` of call number ``node`` of layer ``layer``."""

    layer: str
    node: int
    tensor: int


@dataclass
class Call:
    """One call of a layer: positional ``args`` and ``kwargs``, with :class:`Ref` for tensors."""

    args: list
    kwargs: dict


@dataclass
class Entry:
    """One layer (or Keras 3 op) of the config, with the calls made on it."""

    name: str
    class_name: str
    config: dict
    module: str | None = None
    calls: list[Call] = field(default_factory=list)
    op: bool = False
    #: A nested model (a ``Sequential`` or ``Functional`` used as a layer): its own parsed graph.
    graph: "Graph | None" = None


@dataclass
class Graph:
    """The model: ``kind`` is ``Sequential`` or ``Functional``; ``inputs``/``outputs`` are
    :class:`Ref` structures (a Ref, a list or a dict of them) as the config saved them."""

    kind: str
    name: str
    entries: list[Entry]
    inputs: Any
    outputs: Any
    #: Whether the config's first layer is an ``InputLayer`` (for a Sequential, refgru adds one otherwise).
    explicit_input: bool = True


def _refuse(where: str, what: str) -> RefgruError:
    return RefgruError(f"{where}: expected built-in Keras layers only, got {what}; "
                       "refgru never runs code from a model file")


def check_safe(obj: Any, where: str = "model config") -> None:
    """Raise :class:`RefgruError` if ``obj`` (a parsed config) holds a lambda or a custom object."""
    stack = [(obj, where, None)]
    while stack:
        node, at, key = stack.pop()
        if not isinstance(node, (list, dict)):
            _check_value(node, at, key)
        if isinstance(node, list):
            stack.extend((item, at, key) for item in node)
        elif isinstance(node, dict):
            cls = node.get("class_name")
            config = node.get("config") if isinstance(node.get("config"), dict) else {}
            name = config.get("name", node.get("name"))
            here = at
            if isinstance(cls, str) and name is not None:
                here = f"layer {escape(name, 60)} ({escape(cls, 60)[1:-1]})"
            code = isinstance(cls, str) and cls in CODE_CLASSES
            if code or "function_type" in config and config.get("function_type") == "lambda":
                raise _refuse(here, f"a {cls}, which holds Python code")
            module = node.get("module")
            if isinstance(module, str) and module.split(".")[0] not in SAFE_MODULES:
                raise _refuse(here, f"a custom object from module {escape(module)}")
            registered = node.get("registered_name")
            if isinstance(cls, str) and registered not in (None, cls) and not str(registered).startswith("keras"):
                raise _refuse(here, f"a custom object registered as {escape(registered)}")
            if key == "dtype" and isinstance(config.get("name"), str):  # a DTypePolicy: its name is the dtype
                _check_value(config["name"], here, "dtype")
            stack.extend((value, here, k) for k, value in node.items())


def _check_value(value: Any, at: str, key: Any) -> None:
    """A config leaf: numbers finite and bounded, dtype names from :data:`DTYPES`."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        limit = 2**64 if key in WIDE_INT_KEYS else MAX_CONFIG_INT
        if not -limit <= value <= limit:
            raise RefgruError(f"{at} {escape(key)}: expected an integer of at most {limit} in size (MAX_CONFIG_INT), "
                              f"got one of {len(str(abs(value)))} digits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise RefgruError(f"{at} {escape(key)}: expected a finite number, got {value}")
    elif isinstance(value, str) and key == "dtype" and value not in DTYPES:
        raise RefgruError(f"{at} dtype: expected one of {', '.join(sorted(DTYPES))}, got {escape(value)}")


def _is_leaf(value: Any) -> bool:
    return isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str) \
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:3])


def io_structure(value: Any, what: str) -> Any:
    """``input_layers``/``output_layers`` as :class:`Ref` structures (leaf ``[name, node, tensor]``)."""
    if _is_leaf(value):
        return Ref(value[0], value[1], value[2])
    if isinstance(value, list) and value:
        return [io_structure(v, what) for v in value]
    if isinstance(value, dict) and value:
        return {k: io_structure(v, what) for k, v in value.items()}
    raise RefgruError(f"{what}: expected [layer name, node index, tensor index] entries, got {describe(value)}")


def map_tree(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """Rebuild ``value`` (lists, dicts) with ``leaf`` applied to every non-container item and tensor dict."""
    converted = leaf(value)
    if converted is not value:
        return converted
    if isinstance(value, list):
        return [map_tree(v, leaf) for v in value]
    if isinstance(value, dict):
        return {k: map_tree(v, leaf) for k, v in value.items()}
    return value


def _keras3_tensor(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = value.get("config", {}).get("keras_history")
        if not _is_leaf(history):
            raise RefgruError(f"keras_history: expected [layer, node, tensor], got {describe(history)}")
        return Ref(*history[:3])
    return value


def _parse_call(node: Any, names: set[str], where: str) -> Call:
    """One inbound node, Keras 3 dict form or Keras 2 list form, as a :class:`Call`."""
    if isinstance(node, dict) and "args" in node:
        return Call(map_tree(node["args"], _keras3_tensor), map_tree(node.get("kwargs", {}), _keras3_tensor))
    if not isinstance(node, list) or not node or not all(_is_leaf(e) for e in node):
        raise RefgruError(f"{where} inbound_nodes: expected Keras 2 [[layer, node, tensor, kwargs], ...] "
                          f"or Keras 3 {{'args', 'kwargs'}} entries, got {describe(node)}")
    if any(e[0] not in names for e in node):
        raise RefgruError(f"{where} inbound_nodes: expected names of layers in the model, "
                          f"got {[e[0] for e in node]}")
    refs = [Ref(e[0], e[1], e[2]) for e in node]
    kwargs = node[0][3] if len(node[0]) == 4 and isinstance(node[0][3], dict) else {}
    kwargs = map_tree(kwargs, lambda v: Ref(v[0], v[1], v[2]) if _is_leaf(v) and v[0] in names else v)
    return Call([refs[0] if len(refs) == 1 else refs], kwargs)


def _entry(spec: Any, index: int, depth: int) -> Entry:
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str) \
            or not isinstance(spec.get("config"), dict):
        raise RefgruError(f"layers[{index}]: expected a {{'class_name', 'config'}} dict, got {describe(spec)}")
    name = spec.get("name") or spec["config"].get("name")
    if not isinstance(name, str):
        raise RefgruError(f"layers[{index}] name: expected a string, got {describe(name)}")
    if any(not ch.isprintable() for ch in name) or len(name) > 1000:
        raise RefgruError(f"layers[{index}] name: expected a printable name of at most 1000 characters, "
                          f"got {escape(name)}")
    entry = Entry(name, spec["class_name"], {**spec["config"], "name": name}, spec.get("module"), op=is_op(spec))
    if entry.class_name in MODEL_CLASSES and not entry.op:
        entry.graph = _model(spec, depth + 1, f"layer {escape(name)} ({escape(entry.class_name)[1:-1]})")
    return entry


def _sequential(config: Any, depth: int = 1) -> Graph:
    layers = config if isinstance(config, list) else config.get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list) or not layers:
        raise RefgruError(f"Sequential config: expected a non-empty list of layers, got {describe(layers)}")
    entries = [_entry(spec, i, depth) for i, spec in enumerate(layers)]
    explicit = entries[0].class_name == "InputLayer"
    if not explicit:
        first = entries[0].config
        shape = first.get("batch_input_shape") or first.get("batch_shape")
        if shape is None and isinstance(config, dict) and config.get("build_input_shape"):
            shape = config["build_input_shape"]
        dtype = first.get("dtype")
        dtype = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
        name = f"{first['name']}_input"  # what tf-keras names the input it adds
        dtype = dtype if dtype in ("float32", "float64") else "float32"
        entries.insert(0, Entry(name, "InputLayer", {"name": name, "batch_shape": shape, "dtype": dtype}))
    for previous, entry in zip(entries, entries[1:], strict=False):
        entry.calls = [Call([Ref(previous.name, 0, 0)], {})]
    name = config.get("name", "sequential") if isinstance(config, dict) else "sequential"
    return Graph("Sequential", name, entries, Ref(entries[0].name, 0, 0), Ref(entries[-1].name, 0, 0), explicit)


def _functional(config: Any, depth: int = 1) -> Graph:
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise RefgruError(f"Functional config: expected a dict with 'layers', got {describe(config)}")
    entries = [_entry(spec, i, depth) for i, spec in enumerate(config["layers"])]
    names = {e.name for e in entries}
    if len(names) != len(entries):
        raise RefgruError("Functional config layers: expected unique layer names, got duplicates")
    for entry, spec in zip(entries, config["layers"], strict=True):
        nodes = spec.get("inbound_nodes", [])
        entry.calls = [_parse_call(node, names, f"layer {escape(entry.name)}") for node in nodes]
        if entry.op:
            _check_op(entry)
    inputs = io_structure(config.get("input_layers"), "input_layers")
    graph = Graph("Functional", config.get("name", "model"), entries, inputs,
                  io_structure(config.get("output_layers"), "output_layers"), entries[0].class_name == "InputLayer")
    _check_refs(graph, names)
    return graph


def _check_op(entry: Entry) -> None:
    """An op node's calls pass at most :data:`~refgru.model.ops.OP_ARITY` positional arguments, no keywords."""
    arity = OP_ARITY.get(entry.class_name)
    for call in entry.calls:
        if arity is None or len(call.args) > arity or call.kwargs:
            raise RefgruError(f"op {escape(entry.name)} ({escape(entry.class_name)[1:-1]}) call: expected at most "
                              f"{arity or 0} positional arguments and no keyword arguments, got {len(call.args)} "
                              f"and keywords {', '.join(escape(k) for k in list(call.kwargs)[:5]) or 'none'}")


def _refs(value: Any):
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _refs(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _refs(v)


def _check_refs(graph: Graph, names: set[str]) -> None:
    every = list(_refs(graph.inputs)) + list(_refs(graph.outputs))
    every += [r for e in graph.entries for c in e.calls for r in _refs([c.args, c.kwargs])]
    bad = [r for r in every if r.layer not in names]
    if bad:
        raise RefgruError(f"model config: expected references to layers in the model, got {bad[0].layer!r}")


def parse_model_config(model_config: Any) -> Graph:
    """A :class:`Graph` from the top-level ``{"class_name", "config"}`` dict of a saved model."""
    if not isinstance(model_config, dict) or "class_name" not in model_config:
        raise RefgruError(f"model config: expected a dict with 'class_name' and 'config', got {describe(model_config)}")
    check_safe(model_config)
    return _model(model_config, 1, "model class")


def _model(spec: dict, depth: int, where: str) -> Graph:
    """The graph of a model config at nesting ``depth`` (1: the saved model; 2: a model used as its layer...)."""
    if depth > MAX_MODEL_DEPTH:
        raise RefgruError(f"{where}: expected models nested at most {MAX_MODEL_DEPTH} deep (MAX_MODEL_DEPTH), "
                          "got deeper nesting")
    kind = spec["class_name"]
    if kind == "Sequential":
        return _sequential(spec.get("config"), depth)
    if kind in ("Functional", "Model"):
        return _functional(spec.get("config"), depth)
    raise RefgruError(f"{where}: expected Sequential or Functional, got {escape(kind)} "
                      "(a subclassed model's call() is Python code, which a file cannot carry)")
