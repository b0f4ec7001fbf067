"""The parser behind :func:`refgru.weights_text.weights_from_text`: printed NumPy and torch arrays read
back into arrays by a tokenizer and a recursive-descent parser, never evaluating the text.

The grammar (``label`` is any text before the first ``[array(``, ``array(``, ``tensor(``,
``Parameter containing:``, ``OrderedDict(`` or ``{'``, within :data:`MAX_LABEL_CHARS`)::

    text    := label (list | mapping | item (','? item)*) end
    list    := '[' item (',' item)* ','? ']'
    mapping := 'OrderedDict' '(' ('[' pair (',' pair)* ']' | dict) ')' | dict
    dict    := '{' STRING ':' item (',' STRING ':' item)* '}';   pair := '(' STRING ',' item ')'
    item    := 'Parameter' 'containing' ':' call | call
    call    := ('array' | 'tensor') '(' rows (',' NAME '=' option)* ')'
    rows    := NUMBER | '[' (rows (',' rows)* ','?)? ']'       (every row of one level the same shape)
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from .errors import error

#: The longest label read before the first array (such as ``Shape = ``), in characters.
MAX_LABEL_CHARS = 4096
#: The deepest nesting of brackets and parentheses read (a printed GRU weight needs 4).
MAX_DEPTH = 32

_TOKEN = re.compile(r"""
    (?P<space>(?:\s|[\u00a0\u2007\u202f\ufeff])+)
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-](?:nan|inf)(?!\w))
  | (?P<ellipsis>\.\.\.)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<string>'[^'\\\n]{0,200}'|"[^"\\\n]{0,200}")
  | (?P<punct>[][(){},:=.<>])
  | (?P<bad>.)
""", re.VERBOSE | re.ASCII | re.DOTALL)
_START = re.compile(r"\[\s*(?=(?:array|tensor)\s*\(|Parameter\s+containing\b)|\{\s*(?=['\"])"
                    r"|\b(?:array|tensor|OrderedDict)\s*\(|\bParameter\s+containing\b", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DIM = re.compile(r"\d{1,12}", re.ASCII)
_NUMPY_FLOATS = {"float16": np.float16, "float32": np.float32, "float64": np.float64}
_TORCH_FLOATS = {**{f"torch.{k}": v for k, v in _NUMPY_FLOATS.items()},
                 "torch.half": np.float16, "torch.float": np.float32, "torch.double": np.float64}
#: Per call: the dtype when none is printed, the printed dtypes, and the options it may print
#: (``shape``/``size`` appear when an array is empty, and since NumPy 2.2 when it is elided).
_CALLS = {"array": (np.float64, _NUMPY_FLOATS, ("dtype", "shape")),
          "tensor": (np.float32, _TORCH_FLOATS, ("dtype", "size", "requires_grad", "device", "grad_fn"))}
_ELIDED = (" (the array was elided; print it whole after np.set_printoptions(threshold=sys.maxsize), "
           "or torch.set_printoptions(profile='full'))")


def parse(text: str) -> list[np.ndarray] | dict[str, np.ndarray]:
    """The arrays of ``text`` (already checked to be a ``str`` of an allowed length), in the printed order;
    a :class:`RefgruError` naming ``text`` and the line and column of the first thing that does not parse."""
    return _Parser(text).document()


def _decimal_to_float(tokens: list[str], dtype: type) -> np.ndarray:
    """Correctly rounded values of the decimal ``tokens`` in ``dtype``; inf for out-of-range ones."""
    wide = np.array([float(t) for t in tokens], dtype=np.float64)
    with np.errstate(over="ignore"):
        narrow = wide.astype(dtype)
    if dtype is np.float64 or not narrow.size:
        return narrow
    # decimal -> float64 -> dtype rounds twice, which is wrong only where the float64 value is exactly
    # halfway between two neighbours in dtype: decide those few entries from the exact decimal.
    back = narrow.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        other = np.nextafter(narrow, np.where(back < wide, np.inf, -np.inf).astype(dtype)).astype(np.float64)
        halfway = np.isfinite(other) & (wide != back) & (2 * (wide - back) == other - back)
    for i in np.flatnonzero(halfway):
        exact, nearest = Fraction(tokens[i]), Fraction(float(wide[i]))
        if exact != nearest:
            narrow[i] = dtype(other[i] if (exact > nearest) == (other[i] > back[i]) else back[i])
    return narrow


class _Parser:
    """Recursive descent over a lazily tokenized text; ``self.kind/value/pos`` is the current token."""

    def __init__(self, text: str):
        self.text, self.depth = text, 0
        start = _START.search(text[:MAX_LABEL_CHARS + 32])
        self.tokens = _TOKEN.finditer(text, start.start() if start else 0)
        self.advance()
        if start is None:
            self.fail("NumPy's array(...) or torch's tensor(...) as print() shows them",
                      " (print(layer.get_weights()) or print(repr(w)) shows array(...) with commas and the dtype)")

    def advance(self) -> None:
        for match in self.tokens:
            if match.lastgroup != "space":
                self.kind, self.value, self.pos = match.lastgroup, match.group(), match.start()
                if self.value in ("nan", "inf"):
                    self.kind = "number"
                return
        self.kind, self.value, self.pos = "end", "", len(self.text)

    def fail(self, expected: str, note: str = "", pos: int | None = None, found: str | None = None):
        pos = self.pos if pos is None else pos
        line, column = self.text.count("\n", 0, pos) + 1, pos - self.text.rfind("\n", 0, pos)
        if found is None:
            found = "the end of the text" if self.kind == "end" else repr(self.value[:40])
        raise error("text", expected, got=f"{found} at line {line}, column {column}{note}")

    def expect(self, value: str) -> None:
        if self.value != value:
            self.fail(repr(value))
        self.advance()

    def take(self, kind: str, expected: str) -> str:
        """The current token's text, if it is of ``kind``; then advance."""
        if self.kind != kind:
            self.fail(expected)
        value = self.value
        self.advance()
        return value

    def open(self, value: str) -> None:
        if self.depth >= MAX_DEPTH:
            self.fail(f"at most {MAX_DEPTH} nested brackets")
        self.expect(value)
        self.depth += 1

    def close(self, value: str) -> None:
        self.expect(value)
        self.depth -= 1

    def separated(self, parse, close: str) -> list:
        """``parse()`` results separated by commas up to ``close`` (a trailing comma allowed)."""
        results = [parse()]
        while self.value == ",":
            self.advance()
            if self.value == close:
                break
            results.append(parse())
        if self.value != close:
            self.fail(f"',' or {close!r}")
        return results

    def document(self) -> list[np.ndarray] | dict[str, np.ndarray]:
        if self.value == "{" or self.value == "OrderedDict":
            result = self.mapping()
        elif self.value == "[":
            self.open("[")
            result = self.separated(self.item, "]")
            self.close("]")
        else:
            result = [self.item()]
            while self.kind != "end":
                if self.value == ",":
                    self.advance()
                result.append(self.item())
        if self.kind != "end":
            self.fail("the end of the text")
        return result

    def mapping(self) -> dict[str, np.ndarray]:
        """``{'k': item, ...}``, ``OrderedDict({...})`` or ``OrderedDict([('k', item), ...])``."""
        wrapped = self.value == "OrderedDict"
        if wrapped:
            self.advance()
            self.open("(")
        tuples = self.value != "{"
        self.open("[" if tuples else "{")
        result: dict[str, np.ndarray] = {}

        def pair() -> None:
            if tuples:
                self.open("(")
            pos = self.pos
            key = self.take("string", "a quoted parameter name")[1:-1]
            self.expect("," if tuples else ":")
            if key in result:
                self.fail("each name once", pos=pos, found=f"{key!r} again")
            result[key] = self.item()
            if tuples:
                self.close(")")

        self.separated(pair, "]" if tuples else "}")
        self.close("]" if tuples else "}")
        if wrapped:
            self.close(")")
        return result

    def item(self) -> np.ndarray:
        if self.value == "Parameter":
            self.advance()
            self.expect("containing")
            self.expect(":")
            if self.value != "tensor":
                self.fail("tensor(...) after 'Parameter containing:'")
        if self.kind != "name" or self.value not in _CALLS:
            self.fail("array(...) or tensor(...)")
        return self.call()

    def call(self) -> np.ndarray:
        name, start = self.value, self.pos
        dtype, dtypes, allowed = _CALLS[name]
        self.advance()
        self.open("(")
        tokens: list[str] = []
        shape = self.rows(tokens)
        options: dict[str, object] = {}
        while self.value == ",":
            self.advance()
            key, pos = self.value, self.pos
            if self.kind != "name" or key not in allowed or key in options:
                self.fail(f"one of the options {', '.join(allowed)} of {name}(...)")
            self.advance()
            self.expect("=")
            options[key] = (self.dims() if key in ("shape", "size") else self.option(), pos)
        self.close(")")
        if "dtype" in options:
            printed, pos = options["dtype"]
            dtype = dtypes.get(printed)
            if dtype is None:
                self.fail(f"a floating-point dtype ({', '.join(dtypes)})", pos=pos, found=repr(printed))
        elif any(_INTEGER.fullmatch(t) for t in tokens):
            self.fail(f"floating-point numbers ({name}(...) printed without a dtype and without decimal points "
                      "holds integers)", pos=start, found=f"{name}(...)")
        declared, pos = options.get("shape", options.get("size", (shape, start)))
        if declared != shape and (np.prod(shape) or np.prod(declared)):
            self.fail(f"a shape matching the printed values {shape}", pos=pos, found=f"{declared}")
        values = _decimal_to_float(tokens, dtype)
        overflow = np.isinf(values) & ~np.array(["inf" in t for t in tokens], bool)
        if overflow.any():
            bad = tokens[int(np.flatnonzero(overflow)[0])]
            self.fail(f"values within the range of {np.dtype(dtype)}", pos=start, found=f"{bad} in this {name}(...)")
        return values.reshape(declared)

    def rows(self, tokens: list[str]) -> tuple[int, ...]:
        """Read one printed (nested) row into ``tokens``; return its shape. Ragged rows are refused."""
        if self.kind == "number":
            tokens.append(self.value)
            self.advance()
            return ()
        if self.kind == "ellipsis":
            self.fail("the whole array", _ELIDED)
        if self.value != "[":
            self.fail("a number or '['")
        self.open("[")
        shapes: list[tuple[int, ...]] = []
        while self.value != "]":
            pos = self.pos
            shapes.append(self.rows(tokens))
            if shapes[-1] != shapes[0]:
                what = "a number" if not shapes[-1] else f"a row of shape {shapes[-1]}"
                like = "numbers" if not shapes[0] else f"rows of shape {shapes[0]}"
                self.fail(f"{like} like the ones before it (ragged rows are not broadcast)", pos=pos, found=what)
            if self.value == ",":
                self.advance()
            elif self.value != "]":
                note = " (print(repr(w)) or print(list_of_arrays) shows commas and the dtype)" * (self.kind == "number")
                self.fail("',' or ']'", note)
        self.close("]")
        return (len(shapes), *(shapes[0] if shapes else ()))

    def dims(self) -> tuple[int, ...]:
        self.open("(")
        dims = self.separated(self.dim, ")") if self.value != ")" else []
        self.close(")")
        return tuple(dims)

    def dim(self) -> int:
        if not _DIM.fullmatch(self.value):
            self.fail("a dimension (a whole number)")
        return int(self.take("number", ""))

    def option(self) -> str:
        """``float32``, ``torch.float64``, ``True``, ``'cuda:0'`` or ``<AddBackward0>``, as printed."""
        if self.kind == "string":
            return self.take("string", "")[1:-1]
        if self.value == "<":
            self.advance()
            value = self.take("name", "a name inside <...>")
            self.expect(">")
            return value
        value = self.take("name", "an option value such as float32 or True")
        while self.value == ".":
            self.advance()
            value += "." + self.take("name", "a name after '.'")
        return value
