"""A small, strict data format for what crosses between the grader and code it does not trust.

Inputs go to a learner's function and results come back as JSON with numpy arrays as base64 bytes.
Decoding never runs code (no pickle): a result can only ever be data, which the trusted grader then
compares. Objects the format does not know are sent as a description (type and a short repr), so a
message can say what the function returned instead.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

MAX_BYTES = 64 * 1024 * 1024  # a result larger than this is refused, not decoded
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "complex64", "complex128"}


class KnownFunction:
    """A function passed as an argument to a learner's function (``f`` of ``numerical_derivative``).

    Only a few families are known, so that a function can be named by data instead of by code.
    """

    KINDS = ("poly", "exp", "log", "sin")

    def __init__(self, kind: str, params: list[float]):
        if kind not in self.KINDS:
            raise ValueError(f"unknown function kind {kind!r}")
        self.kind, self.params = kind, [float(p) for p in params]

    def __call__(self, x):
        p = self.params
        if self.kind == "poly":  # p[0] + p[1] x + p[2] x^2 + ...
            return sum(c * x**i for i, c in enumerate(p))
        if self.kind == "exp":  # p[0] exp(p[1] x)
            return p[0] * np.exp(p[1] * x)
        if self.kind == "log":  # p[0] log(x)
            return p[0] * np.log(x)
        return p[0] * np.sin(p[1] * x)  # sin

    def __repr__(self):
        p = self.params
        if self.kind == "poly":
            return "f(x) = " + " + ".join(f"{c:g}·x^{i}" for i, c in enumerate(p))
        if self.kind == "exp":
            return f"f(x) = {p[0]:g}·exp({p[1]:g}x)"
        if self.kind == "log":
            return f"f(x) = {p[0]:g}·log(x)"
        return f"f(x) = {p[0]:g}·sin({p[1]:g}x)"


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value if type(value) is int else {"t": "other", "type": type(value).__name__, "repr": "<int subclass>"}
    if type(value) is float:
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    if isinstance(value, np.generic):
        array = np.asarray(value)
        if array.dtype.name not in _DTYPES:
            return {"t": "other", "type": type(value).__name__, "repr": _short_repr(value)}
        return {"t": "npscalar", **_encode_array(array)}
    if isinstance(value, np.ndarray):
        plain = value.view(np.ndarray) if type(value) is not np.ndarray else value
        if plain.dtype.name not in _DTYPES:
            return {"t": "other", "type": f"ndarray of {plain.dtype}", "repr": _short_repr(plain)}
        encoded = {"t": "ndarray", **_encode_array(plain)}
        if type(value) is not np.ndarray:
            encoded["subclass"] = type(value).__name__
        return encoded
    if type(value) is tuple:
        return {"t": "tuple", "v": [_encode(v) for v in value]}
    if type(value) is list:
        return {"t": "list", "v": [_encode(v) for v in value]}
    if type(value) is dict:
        return {"t": "dict", "v": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, KnownFunction):
        return {"t": "fn", "kind": value.kind, "params": value.params}
    return {"t": "other", "type": type(value).__name__, "repr": _short_repr(value)}


def _encode_array(array: np.ndarray) -> dict:
    data = np.array(array, order="C", copy=True)  # (ascontiguousarray would turn 0-d into 1-d)
    return {"dtype": data.dtype.name, "shape": list(data.shape), "data": base64.b64encode(data.tobytes()).decode()}


def _short_repr(value: Any) -> str:
    try:
        text = object.__repr__(value)
    except Exception:
        text = "?"
    return text[:200]


class Opaque:
    """Something a function returned that the format cannot carry: only its type and repr are known."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return f"<{self.type_name}>"


class ArraySubclass(np.ndarray):
    """Marks an array that a learner's function returned as an ndarray subclass (the policy refuses it)."""

    original_type = "ndarray subclass"


def _decode(obj: Any, depth: int = 0) -> Any:
    if depth > 50:
        raise ValueError("result nested too deeply")
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if not isinstance(obj, dict) or "t" not in obj:
        raise ValueError("malformed result")
    tag = obj["t"]
    if tag == "float":
        return float(obj["v"])
    if tag in ("ndarray", "npscalar"):
        if obj["dtype"] not in _DTYPES:
            raise ValueError(f"unsupported dtype {obj['dtype']!r}")
        shape = tuple(int(n) for n in obj["shape"])
        if any(n < 0 for n in shape):
            raise ValueError("negative array dimension")
        raw = base64.b64decode(obj["data"], validate=True)
        array = np.frombuffer(raw, dtype=np.dtype(obj["dtype"])).reshape(shape).copy()
        if tag == "npscalar":
            return array[()]
        if "subclass" in obj:
            marked = array.view(ArraySubclass)
            marked.original_type = str(obj["subclass"])[:100]
            return marked
        return array
    if tag == "tuple":
        return tuple(_decode(v, depth + 1) for v in obj["v"])
    if tag == "list":
        return [_decode(v, depth + 1) for v in obj["v"]]
    if tag == "dict":
        out = {}
        for pair in obj["v"]:
            key = _decode(pair[0], depth + 1)
            if not isinstance(key, str | int | float | bool | None):
                raise ValueError("unsupported dict key")
            out[key] = _decode(pair[1], depth + 1)
        return out
    if tag == "fn":
        return KnownFunction(obj["kind"], obj["params"])
    if tag == "other":
        return Opaque(str(obj.get("type", "?"))[:100], str(obj.get("repr", ""))[:200])
    raise ValueError(f"unknown tag {tag!r}")


def dumps(value: Any) -> str:
    """Encode ``value`` as text."""
    return json.dumps(_encode(value), allow_nan=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """Decode text made by :func:`dumps`; anything else raises ``ValueError``."""
    if len(text) > MAX_BYTES:
        raise ValueError(f"result larger than {MAX_BYTES} bytes")
    try:
        return _decode(json.loads(text))
    except ValueError:
        raise
    except Exception as exc:  # anything a learner's process sent that is not this format, however malformed
        raise ValueError(f"malformed result ({type(exc).__name__})") from None
