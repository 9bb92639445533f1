"""The data format at the trust boundary (:mod:`autograder.serialize`): what a learner's process sends back
is only ever data, and anything malformed is a ``ValueError`` with a short reason, never another exception
that would fail the whole submission instead of one test."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest

from autograder import serialize
from autograder.serialize import ArraySubclass, KnownFunction, Opaque


@pytest.mark.parametrize("value", [
    None, True, 0, -7, 2**70, 1.5, "text", "", [], (), {},
    [1, (2.0, "x"), {"a": [None]}],
    {1: "int key", "s": 2.5, None: 0, 3.5: True},
    np.float64(0.25), np.int32(-3), np.bool_(True),
])
def test_plain_values_round_trip_with_their_types(value):
    back = serialize.loads(serialize.dumps(value))
    assert back == value and type(back) is type(value)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int8", "uint8", "bool", "complex128"])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (1, 4, 2)])
def test_arrays_round_trip_exactly(dtype, shape):
    array = np.asarray(np.arange(int(np.prod(shape))) % 3).reshape(shape).astype(dtype)
    back = serialize.loads(serialize.dumps(array))
    assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)


def test_a_non_contiguous_view_round_trips():
    array = np.arange(12.0).reshape(3, 4).T[::2]
    assert np.array_equal(serialize.loads(serialize.dumps(array)), array)


def test_non_finite_floats_survive():
    back = serialize.loads(serialize.dumps([math.inf, -math.inf, math.nan]))
    assert back[:2] == [math.inf, -math.inf] and math.isnan(back[2])


def test_an_array_subclass_is_marked_not_trusted():
    class Sneaky(np.ndarray):
        def __eq__(self, other):
            return True

    back = serialize.loads(serialize.dumps(np.zeros(3).view(Sneaky)))
    assert isinstance(back, ArraySubclass) and back.original_type == "Sneaky"
    assert type(back).__eq__ is np.ndarray.__eq__  # its comparison is numpy's, not the learner's


def test_unknown_objects_arrive_as_a_description_only():
    class Weird:
        def __repr__(self):
            raise RuntimeError("a repr that raises")

    for value in (Weird(), np.array(["a"], dtype=object), True.__class__, lambda: 0):
        back = serialize.loads(serialize.dumps(value))
        assert isinstance(back, Opaque), value


def test_an_int_or_float_subclass_is_not_passed_as_a_number():
    class Liar(int):
        def __eq__(self, other):
            return True

    assert isinstance(serialize.loads(serialize.dumps(Liar(3))), Opaque)


def test_known_functions_travel_as_data():
    f = KnownFunction("exp", [2.0, 0.5])
    back = serialize.loads(serialize.dumps(f))
    assert isinstance(back, KnownFunction) and back(1.0) == pytest.approx(f(1.0))
    with pytest.raises(ValueError):
        KnownFunction("os.system", [])


def _array(**changes) -> dict:
    encoded = {"t": "ndarray", "dtype": "float64", "shape": [2], "data": base64.b64encode(b"\0" * 16).decode()}
    return {**encoded, **changes}


@pytest.mark.parametrize("text", [
    json.dumps({"t": "ndarray"}),  # no dtype, shape nor data
    json.dumps(_array(dtype="object")),
    json.dumps(_array(dtype="V8")),
    json.dumps(_array(shape=[3])),  # 16 bytes are not 3 float64
    json.dumps(_array(shape=["x"])),
    json.dumps(_array(shape=[-2])),
    json.dumps(_array(data="not base64!")),
    json.dumps(_array(data=None)),
    json.dumps({"t": "pickle", "v": "gASV"}),
    json.dumps({"t": "fn", "kind": "os.system", "params": []}),
    json.dumps({"t": "fn", "kind": "poly", "params": ["x"]}),
    json.dumps({"t": "dict", "v": [[{"t": "list", "v": []}, 1]]}),  # an unhashable key
    json.dumps({"t": "dict", "v": [[1]]}),
    json.dumps({"t": "tuple", "v": 5}),
    json.dumps({"t": "float", "v": "1e999999x"}),
    json.dumps({"no tag": 1}),
    json.dumps([1, 2]),
    "{not json",
    "",
    b"\xff\xfe",
])
def test_malformed_results_are_value_errors(text):
    with pytest.raises(ValueError):
        serialize.loads(text)


def test_deep_nesting_is_refused_without_recursion_errors():
    deep = {"t": "list", "v": []}
    for _ in range(200):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(ValueError, match="deeply"):
        serialize.loads(json.dumps(deep))


def test_a_result_over_the_size_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(serialize, "MAX_BYTES", 100)
    with pytest.raises(ValueError, match="larger than"):
        serialize.loads(serialize.dumps(np.zeros(50)))
