"""The numeric and type policy every check follows, and the comparison that applies it.

Written down once, used everywhere (visible tests, hidden tests, the out-of-kernel verification):

* **Tolerance.** Numbers match when ``|actual - expected| <= ATOL + RTOL * |expected|`` elementwise
  (``numpy.allclose`` with ``RTOL = 1e-5``, ``ATOL = 1e-8``); NaN never matches.
* **Scalars.** Where a single number is asked for (``cost``, ``db``, ``b``), a Python ``int`` or
  ``float``, a numpy scalar (``np.float64``...) and a 0-d array are all accepted. An array with one
  element of shape ``(1,)`` or ``(1, 1)`` is not: it is reported with the fix (``float(...)``).
* **Arrays.** Must be ``numpy.ndarray`` (not a list, not a subclass) of exactly the documented shape:
  ``(n, 1)`` and ``(n,)`` are different shapes. Any integer or float dtype is accepted.
* **Labels.** Predictions are arrays of 0 and 1; integer, float and boolean dtypes are all accepted,
  compared exactly.
* **Lists of numbers** (``costs``): a list, tuple or 1-d array of the right length.
* **Dictionaries** must have the documented keys; extra keys are allowed.

A failure raises :class:`CheckFailure` whose message names the value, what was expected and, for the
common mistakes, the likely cause, without showing the hidden inputs. The causes this module can name
for any value (:func:`diagnose_values`): nothing returned (``None``), the opposite sign, a factor of m,
1/m, 2 or 1/2, rounding, all zeros, the right values in the wrong places. Each notebook's checks add
their own hints for the mistakes of one function (``FunctionCheck.diagnose``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RTOL = 1e-5
ATOL = 1e-8


class CheckFailure(AssertionError):
    """A learner's function returned something the policy does not accept; the message says what."""


@dataclass
class Expect:
    """How to compare one returned value. ``name`` is what the learner calls it ("dw", "cost")."""

    name: str
    labels: bool = False  # an array of 0/1 predictions, compared exactly
    m: int | None = None  # number of examples, for "m times too large" messages
    like: str | None = None  # the argument whose shape this value must have ("w"), for messages
    fields: dict[str, Expect] = field(default_factory=dict)  # per-key settings of a dict
    items: list[Expect] = field(default_factory=list)  # per-position settings of a returned tuple


def fail(message: str) -> None:
    raise CheckFailure(message)


def _type_name(value: Any) -> str:
    from ..serialize import ArraySubclass, Opaque

    if isinstance(value, Opaque):
        return value.type_name
    if isinstance(value, ArraySubclass):
        return value.original_type
    return type(value).__name__


def _is_scalar(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | np.integer | np.floating):
        return True
    return type(value) is np.ndarray and value.ndim == 0 and value.dtype.kind in "iuf"


def compare(expected: Any, actual: Any, spec: Expect) -> None:
    """Raise :class:`CheckFailure` unless ``actual`` matches ``expected`` under the policy."""
    if actual is None and expected is not None:
        fail(f"{spec.name} is None: is a return statement missing (a function without one returns None), "
             f"or a variable never given its value?")
    if isinstance(expected, tuple):
        _compare_tuple(expected, actual, spec)
    elif isinstance(expected, Mapping):
        _compare_dict(expected, actual, spec)
    elif isinstance(expected, list):
        _compare_number_list(expected, actual, spec)
    elif isinstance(expected, np.ndarray) and expected.ndim > 0:
        _compare_array(expected, actual, spec)
    else:
        _compare_scalar(expected, actual, spec)


def _compare_tuple(expected: tuple, actual: Any, spec: Expect) -> None:
    if not isinstance(actual, tuple | list):
        fail(f"{spec.name} should return {len(expected)} values ({', '.join(i.name for i in spec.items)}), "
             f"but it returned a single {_type_name(actual)}")
    if len(actual) != len(expected):
        fail(f"{spec.name} should return {len(expected)} values "
             f"({', '.join(i.name for i in spec.items)}) but returned {len(actual)}")
    items = spec.items or [Expect(f"value {i + 1}") for i in range(len(expected))]
    for exp, act, sub in zip(expected, actual, items, strict=True):
        compare(exp, act, sub)


def _compare_dict(expected: Mapping, actual: Any, spec: Expect) -> None:
    if not isinstance(actual, Mapping):
        fail(f"{spec.name} should be a dictionary with keys {sorted(expected)}, not a {_type_name(actual)}")
    missing = [key for key in expected if key not in actual]
    if missing:
        fail(f"{spec.name} is missing the key{'s' if len(missing) > 1 else ''} "
             f"{', '.join(repr(k) for k in missing)} (it has {sorted(map(str, actual))})")
    for key, exp in expected.items():
        sub = spec.fields.get(key, Expect(f"{spec.name}[{key!r}]", m=spec.m))
        compare(exp, actual[key], sub)


def _compare_number_list(expected: list, actual: Any, spec: Expect) -> None:
    if isinstance(actual, np.ndarray) and type(actual) is np.ndarray and actual.ndim == 1:
        values = list(actual)
    elif isinstance(actual, list | tuple):
        values = list(actual)
    else:
        fail(f"{spec.name} should be a list of {len(expected)} numbers, not a {_type_name(actual)}")
    if len(values) != len(expected):
        fail(f"{spec.name} has {len(values)} entries but should have {len(expected)}")
    for i, value in enumerate(values):
        if not _is_scalar(value):
            fail(f"{spec.name}[{i}] should be a number, not a {_type_name(value)}"
                 + (f" of shape {value.shape}: use float(...)" if isinstance(value, np.ndarray) else ""))
    _compare_values(np.asarray(expected, dtype=float), np.asarray([float(v) for v in values]), spec)


def _compare_scalar(expected: Any, actual: Any, spec: Expect) -> None:
    if isinstance(actual, np.ndarray) and type(actual) is np.ndarray and actual.size == 1 and actual.ndim > 0:
        fail(f"{spec.name} should be a single number, but it is an array of shape {actual.shape}: "
             f"use float(...) or np.squeeze(...)")
    if not _is_scalar(actual):
        fail(f"{spec.name} should be a number, but it is a {_type_name(actual)}")
    _compare_values(np.asarray(expected, dtype=float), np.asarray(actual, dtype=float), spec)


def _compare_array(expected: np.ndarray, actual: Any, spec: Expect) -> None:
    if type(actual) is not np.ndarray:
        if isinstance(actual, np.ndarray):
            fail(f"{spec.name} should be a plain numpy array, not a {_type_name(actual)}: "
                 f"return np.asarray(...) of your result")
        if isinstance(actual, list | tuple):
            fail(f"{spec.name} should be a numpy array, not a {_type_name(actual)}: use np.array(...)")
        fail(f"{spec.name} should be a numpy array of shape {expected.shape}, not a {_type_name(actual)}")
    if actual.dtype.kind not in "biuf":
        fail(f"{spec.name} should hold numbers, but its dtype is {actual.dtype}")
    if actual.shape != expected.shape:
        fail(_shape_message(expected.shape, actual.shape, spec))
    if spec.labels:
        _compare_labels(expected, actual, spec)
    else:
        _compare_values(expected.astype(float), actual.astype(float), spec)


def _shape_message(want: tuple, got: tuple, spec: Expect) -> str:
    text = f"{spec.name} has shape {got} but should have shape {want}"
    if spec.like:
        text += f" (the shape of {spec.like})"
    if got == tuple(reversed(want)) and len(want) == 2:
        return text + ": transpose it (.T)"
    if len(want) == 2 and want[1] == 1 and got == (want[0],):
        return text + ": a column vector needs two dimensions, e.g. np.zeros((n, 1)) or .reshape(-1, 1)"
    if len(want) == 2 and want[0] == 1 and got == (want[1],):
        return text + ": keep it a row vector, e.g. .reshape(1, -1)"
    if len(want) == 1 and got in ((want[0], 1), (1, want[0])):
        return text + ": flatten it with .ravel() or .reshape(-1)"
    if np.prod(got, dtype=np.int64) == np.prod(want, dtype=np.int64):
        return text + ": it has the right number of entries but the wrong arrangement"
    return text


def _compare_labels(expected: np.ndarray, actual: np.ndarray, spec: Expect) -> None:
    values = actual.astype(float)
    if np.isnan(values).any():
        fail(f"{spec.name} contains NaN")
    if ((values > 0) & (values < 1)).any():
        fail(f"{spec.name} contains values between 0 and 1: convert probabilities to labels with a 0.5 "
             f"threshold (1 if A > 0.5, else 0)")
    if not np.isin(values, (0.0, 1.0)).all():
        fail(f"{spec.name} should contain only 0 and 1, but has {sorted(set(values.ravel().tolist()))[:5]}")
    wrong = int((values != expected).sum())
    if wrong:
        flipped = bool((values == 1 - expected).all())
        hint = ": every label is flipped (is the test A > 0.5 the right way round?)" if flipped else ""
        fail(f"{spec.name}: {wrong} of {values.size} labels are wrong{hint}")


def _compare_values(expected: np.ndarray, actual: np.ndarray, spec: Expect) -> None:
    if np.allclose(actual, expected, rtol=RTOL, atol=ATOL):
        return
    name = spec.name
    if np.isnan(actual).any():
        fail(f"{name} contains NaN: look for log(0), 0/0 or an overflow")
    if np.isinf(actual).any():
        fail(f"{name} contains infinity: look for a division by zero or an overflow")
    diagnosis = diagnose_values(expected, actual, spec)
    if diagnosis:
        fail(f"{name} {diagnosis}")
    if expected.ndim == 0:
        fail(f"{name} = {float(actual):.6g} but should be {float(expected):.6g} "
             f"(tolerance rtol={RTOL:g}, atol={ATOL:g})")
    wrong = ~np.isclose(actual, expected, rtol=RTOL, atol=ATOL)
    fail(f"{name} has the right shape but {int(wrong.sum())} of {wrong.size} values are wrong "
         f"(largest error {float(np.max(np.abs(actual - expected))):.3g}; tolerance rtol={RTOL:g}, atol={ATOL:g})")


def diagnose_values(expected: np.ndarray, actual: np.ndarray, spec: Expect) -> str | None:
    """Name the likely cause when ``actual`` is a simple distortion of ``expected``."""
    if np.allclose(actual, -expected, rtol=RTOL, atol=ATOL) and np.abs(expected).max() > ATOL:
        return "has the opposite sign: check the sign in your formula"
    decimals = _rounded_to(expected, actual)
    if decimals is not None:
        return (f"is rounded to {decimals} decimal{'s' if decimals != 1 else ''}: return the value as computed, "
                f"without round(...) (rounding is only for printing)")
    if np.abs(expected).max() > ATOL and not actual.any():
        return (f"is 0{' everywhere' if expected.ndim else ''}: check the parentheses, and that every term of "
                f"the formula is computed (a term that cancels out, or is never added up, leaves 0)")
    scale = _constant_ratio(expected, actual)
    if scale is not None:
        if spec.m and spec.m > 1 and np.isclose(scale, spec.m, rtol=1e-3):
            return f"is about m = {spec.m} times too large: did you divide by m (the number of examples)?"
        if spec.m and spec.m > 1 and np.isclose(scale, 1 / spec.m, rtol=1e-3):
            return f"is about m = {spec.m} times too small: divide by m only once"
        if np.isclose(scale, 2, rtol=1e-3):
            return "is twice as large as it should be"
        if np.isclose(scale, 0.5, rtol=1e-3):
            return "is half as large as it should be"
        if np.count_nonzero(np.abs(expected) > 1e-6) > 1:  # one number always has "a constant ratio"
            return f"is off by a constant factor of about {scale:.{7 if abs(scale - 1) < 1e-3 else 4}g}"
    if expected.ndim > 0 and expected.size > 1 and np.allclose(np.sort(actual.ravel()), np.sort(expected.ravel())):
        return "has the right values in the wrong places"
    return None


def _rounded_to(expected: np.ndarray, actual: np.ndarray) -> int | None:
    """The number of decimals ``actual`` is ``expected`` rounded to, if it is that (and not just close)."""
    for decimals in range(1, 7):  # the fewest decimals that explain it
        rounded = np.round(expected, decimals)
        if np.array_equal(actual, rounded) or np.allclose(actual, rounded, rtol=0, atol=1e-12):
            return decimals
    return None


def _constant_ratio(expected: np.ndarray, actual: np.ndarray) -> float | None:
    mask = np.abs(expected) > 1e-6
    if not mask.any() or not np.allclose(actual[~mask], 0, atol=1e-6):
        return None
    ratios = actual[mask] / expected[mask]
    if np.allclose(ratios, ratios.flat[0], rtol=1e-4) and not np.isclose(ratios.flat[0], 1, rtol=RTOL):
        return float(ratios.flat[0])
    return None


Diagnoser = Callable[[Any, Any, Any], "str | None"]
