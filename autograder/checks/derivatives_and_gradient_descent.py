"""Checks for notebook 02, *Derivatives and gradient descent*.

The visible examples are the ones printed in the notebook; ``tests/test_checks.py`` proves they equal
the reference solution's results. Hidden cases draw new functions (the families of
:class:`~autograder.serialize.KnownFunction`), points, steps and learning rates on every grading run.
"""

from __future__ import annotations

import math

import numpy as np

from ..serialize import KnownFunction
from . import Case, Checks, FunctionCheck
from .policy import ATOL, RTOL, Expect

NOTEBOOK = "02_derivatives_and_gradient_descent"


def _close(a: float, b: float) -> bool:
    """Two numbers are equal under the policy's tolerance (``b`` the candidate value)."""
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= ATOL + RTOL * abs(b)


def _number(value) -> float:
    """A float from a number or a one-element array (without numpy's warning about the latter)."""
    array = np.asarray(value, dtype=float)
    if array.size != 1:
        raise ValueError("not a single number")
    return float(array.reshape(-1)[0])


def _uniform(rng: np.random.Generator, low: float, high: float, digits: int = 3) -> float:
    return round(float(rng.uniform(low, high)), digits)


def _random_function(rng: np.random.Generator, kind: str) -> tuple[KnownFunction, float]:
    """A function of the family ``kind`` with visible curvature, and a point ``a`` in its domain."""
    if kind == "poly":
        coefficients = [_uniform(rng, -3, 3) for _ in range(int(rng.integers(3, 5)))]
        coefficients[2] = math.copysign(max(abs(coefficients[2]), 0.5), coefficients[2])
        return KnownFunction("poly", coefficients), _uniform(rng, -2, 2)
    if kind == "exp":
        return KnownFunction("exp", [_uniform(rng, 0.5, 3), _uniform(rng, 0.5, 1.5)]), _uniform(rng, -1, 1.5)
    if kind == "log":
        return KnownFunction("log", [_uniform(rng, 0.5, 3)]), _uniform(rng, 0.5, 4)
    frequency = _uniform(rng, 0.5, 2)
    a = _uniform(rng, 0.2, 1.3) / frequency  # away from the inflection points of sin, where slopes agree
    return KnownFunction("sin", [_uniform(rng, 0.5, 3), frequency]), round(a, 4)


# -- numerical_derivative -------------------------------------------------------------------------
def _derivative_cases(rng):
    kinds = list(rng.permutation(["poly", "exp", "log", "sin"]))
    f1, a1 = _random_function(rng, kinds[0])
    f2, a2 = _random_function(rng, kinds[1])
    f3, a3 = _random_function(rng, kinds[2])
    f4, a4 = _random_function(rng, kinds[3])
    return [Case((f1, a1, _uniform(rng, 0.01, 0.2)), {"method": "forward"}),
            Case((f2, a2), {"eps": _uniform(rng, 0.01, 0.2), "method": "centred"}),
            Case((f3, a3)),  # the defaults, eps=1e-4 and method="centred"
            Case((f4, a4), {"method": str(rng.choice(["sideways", "upward", "diagonal"]))})]  # must raise


def _derivative_must_raise(case):
    method = _derivative_arguments(case)[3]
    if method in ("centred", "forward"):
        return None
    return ValueError, f"method={method!r} is neither 'centred' nor 'forward'"


def _derivative_arguments(case):
    """``f, a, eps, method`` of a case, with the defaults of the notebook's signature."""
    names = ("f", "a", "eps", "method")
    values = dict(zip(names, case.args, strict=False)) | case.kwargs
    return values["f"], float(values["a"]), float(values.get("eps", 1e-4)), values.get("method", "centred")


def _derivative_hint(case, expected, actual):
    try:
        got = _number(actual)
        f, a, eps, method = _derivative_arguments(case)
        with np.errstate(all="ignore"):
            above, here, below = float(f(a + eps)), float(f(a)), float(f(a - eps))
            default_centred = (float(f(a + 1e-4)) - float(f(a - 1e-4))) / 2e-4
            default_forward = (float(f(a + 1e-4)) - here) / 1e-4
    except (TypeError, ValueError, OverflowError, KeyError):
        return None
    centred, forward, backward = (above - below) / (2 * eps), (above - here) / eps, (here - below) / eps
    fixed_step = eps != 1e-4 and _close(got, default_centred if method == "centred" else default_forward)
    if method == "forward" and fixed_step and _close(got, centred):  # f is nearly straight here: both fit
        return ("use the eps the function is given, and choose the formula with the method argument: "
                "method='forward' asks for (f(a + eps) - f(a)) / eps")
    if method == "centred" and _close(got, forward):
        return ("this is the forward difference (f(a + eps) - f(a)) / eps; method='centred' asks for "
                "(f(a + eps) - f(a - eps)) / (2 * eps)")
    if method == "forward" and _close(got, centred):
        return ("this is the centred difference; method='forward' asks for (f(a + eps) - f(a)) / eps: "
                "choose the formula with the method argument")
    if method == "centred" and _close(got, (above - below) / eps):
        return ("the centred difference is twice too large: a - eps and a + eps are 2 * eps apart, "
                "so divide by (2 * eps)")
    if method == "centred" and _close(got, (above - below) / 2 * eps):
        return "operator precedence: / 2 * eps multiplies by eps; write / (2 * eps) with parentheses"
    if method == "forward" and _close(got, (above - here) * eps):
        return "divide the difference in height by eps (the width), do not multiply: (f(a + eps) - f(a)) / eps"
    if _close(got, backward) and not _close(got, float(expected)):
        return "this is the backward difference (f(a) - f(a - eps)) / eps, which is not one of the two methods"
    if fixed_step:
        return "use the eps the function is given, not a fixed step of 1e-4"
    if _close(got, -float(expected)):
        return "the slope has the wrong sign: the height is f(right point) - f(left point)"
    return None


# -- gradient_descent -----------------------------------------------------------------------------
def _descent_cases(rng):
    c1 = _uniform(rng, 0.5, 4)  # df of the parabola c1/2 x^2 + c0 x, which has its minimum at -c0/c1
    quadratic = KnownFunction("poly", [_uniform(rng, -6, 6), c1])
    wave = KnownFunction("sin", [_uniform(rng, 0.5, 2), _uniform(rng, 0.5, 2)])  # df of -cos, scaled
    slope = KnownFunction("exp", [_uniform(rng, 0.5, 2), _uniform(rng, 0.3, 1)])  # df of exp, always > 0
    return [Case((quadratic, _uniform(rng, -5, 5), _uniform(rng, 0.02, 0.9 / c1), int(rng.integers(3, 30)))),
            Case((wave, _uniform(rng, -2, 2)),
                 {"learning_rate": _uniform(rng, 0.05, 0.5), "num_iterations": int(rng.integers(2, 25))}),
            Case((slope, _uniform(rng, -1, 2), _uniform(rng, 0.05, 0.3)),
                 {"num_iterations": int(rng.integers(1, 15))})]


def _descent_arguments(case):
    names = ("df", "x0", "learning_rate", "num_iterations")
    values = dict(zip(names, case.args, strict=False)) | case.kwargs
    return values["df"], float(values["x0"]), float(values["learning_rate"]), int(values["num_iterations"])


def _iterates(df, x0, steps, update) -> list[float] | None:
    """The iterates of a (possibly wrong) update rule ``update(x, df(x))``; None if they overflow."""
    xs = [x0]
    try:
        with np.errstate(all="ignore"):
            for _ in range(steps):
                xs.append(float(update(xs[-1], float(df(xs[-1])))))
    except (OverflowError, ValueError, TypeError):
        return None
    return xs


def _same_list(got: list[float], candidate: list[float] | None) -> bool:
    return (candidate is not None and len(got) == len(candidate)
            and all(g == c or _close(g, c) for g, c in zip(got, candidate, strict=True)))  # == for infinities


def _descent_hint(case, expected, actual):
    try:
        df, x0, rate, steps = _descent_arguments(case)
        want = [float(x) for x in expected]
    except (TypeError, ValueError, KeyError):
        return None
    if not isinstance(actual, list | tuple | np.ndarray) or (isinstance(actual, np.ndarray) and actual.ndim == 0):
        try:
            last = _number(actual)
        except (TypeError, ValueError):
            return None
        if _close(last, want[-1]):
            return "return the list xs of every iterate (x0 first), not only the last x"
        return None
    try:
        got = [_number(x) for x in actual]
    except (TypeError, ValueError):
        return None
    n = steps + 1
    if len(got) == n - 1 and _same_list(got, want[1:]):
        return "xs is missing x0: start the list with x0, then append each new x"
    if len(got) == n - 1 and _same_list(got, want[:-1]):
        return "one update short: run num_iterations updates, so that xs holds x0 and num_iterations new values"
    if len(got) == n + 1:
        return "one update too many: xs should hold x0 and one new x per update, num_iterations + 1 values in all"
    if len(got) != n:
        return (f"xs has {len(got)} values but should have num_iterations + 1 = {n}: x0, then one new x "
                "per update")
    if steps > 0 and all(_close(x, x0) for x in got):
        return "x never changes: update x inside the loop (x = x - learning_rate * df(x)) and append the new x"
    if _same_list(got, _iterates(df, x0, steps, lambda x, d: x + rate * d)):
        return "x moves uphill: the update is x - learning_rate * df(x), with a minus sign"
    if _same_list(got, _iterates(df, x0, steps, lambda x, d: x - d)):
        return "the step ignores the learning rate: multiply the slope by it, x - learning_rate * df(x)"
    try:
        start_slope = float(df(x0))
    except (OverflowError, ValueError, TypeError):
        return None
    if _same_list(got, _iterates(df, x0, steps, lambda x, d: x - rate * start_slope)):
        return "the slope is always taken at x0: evaluate df at the current x on every iteration"
    return None


_PARABOLA_SLOPE = KnownFunction("poly", [-6.0, 2.0])  # df of f(x) = (x - 3)^2

checks = Checks(NOTEBOOK, [
    FunctionCheck(
        "numerical_derivative", lambda case: Expect("numerical_derivative(f, a)"), _derivative_cases,
        visible=[Case((KnownFunction("poly", [0.0, 0.0, 1.0]), 3.0), expected=6.000000000012662),
                 Case((KnownFunction("poly", [0.0, 0.0, 1.0]), 3.0), {"eps": 0.01, "method": "forward"},
                      expected=6.009999999999849),
                 Case((KnownFunction("log", [1.0]), 2.0), {"eps": 1e-3}, expected=0.500000041666615),
                 Case((KnownFunction("exp", [1.0, 1.0]), 0.0, 0.1, "forward"), expected=1.0517091807564771),
                 Case((KnownFunction("poly", [0.0, 0.0, 1.0]), 3.0), {"method": "backward"})],
        diagnose=_derivative_hint, must_raise=_derivative_must_raise),
    FunctionCheck(
        "gradient_descent", lambda case: Expect("xs"), _descent_cases,
        visible=[Case((_PARABOLA_SLOPE, 0.0, 0.1, 5),
                      expected=[0.0, 0.6000000000000001, 1.08, 1.464, 1.7711999999999999, 2.01696]),
                 Case((KnownFunction("sin", [1.0, 1.0]), 1.0), {"learning_rate": 0.5, "num_iterations": 3},
                      expected=[1.0, 0.5792645075960517, 0.30556021924823856, 0.15514647350765515]),
                 Case((_PARABOLA_SLOPE, 4.0, 0.1, 0), expected=[4.0])],
        diagnose=_descent_hint),
])
