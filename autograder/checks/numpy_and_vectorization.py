"""Checks for notebook 01, *Python basics with NumPy: vectorization*.

The visible examples are the ones printed in the notebook (the published values of the original
course where there is one); ``tests/test_checks.py`` proves they equal the reference solution's
results. Hidden cases draw new shapes, sizes and values on every grading run.
"""

from __future__ import annotations

import math

import numpy as np

from . import Case, Checks, FunctionCheck
from .policy import ATOL, RTOL, Expect

NOTEBOOK = "01_numpy_and_vectorization"


def _as_floats(value) -> np.ndarray | None:
    """``value`` as a float array, or None when it is not numeric (a hint then has nothing to say)."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _same(actual: np.ndarray, candidate: np.ndarray) -> bool:
    """``actual`` equals ``candidate`` (a known wrong answer) under the policy's tolerance."""
    with np.errstate(all="ignore"):
        return actual.shape == candidate.shape and bool(np.allclose(actual, candidate, rtol=RTOL, atol=ATOL))


def _sigmoid_mistake(x: np.ndarray, got: np.ndarray) -> str | None:
    """The common slips in writing 1 / (1 + exp(-x)), shared by basic_sigmoid and sigmoid."""
    with np.errstate(all="ignore"):
        if _same(got, 1 / (1 + np.exp(x))):
            return "this is sigmoid(-x): the formula is 1 / (1 + exp(-x)), with a minus sign in the exponent"
        if _same(got, 1 / 1 + np.exp(-x)):
            return "operator precedence: 1 / 1 + exp(-x) divides first; write 1 / (1 + exp(-x))"
        if _same(got, np.exp(-x)):
            return "this is exp(-x), not the sigmoid 1 / (1 + exp(-x))"
        if _same(got, 1 + np.exp(-x)):
            return "this is 1 + exp(-x): the sigmoid is one divided by it, 1 / (1 + exp(-x))"
        if _same(got, (1 - np.exp(-x)) / (1 + np.exp(-x))):
            return ("this is (1 - exp(-x)) / (1 + exp(-x)), the shape of tanh(x / 2), which runs from -1 to 1: "
                    "the sigmoid has 1 on top, 1 / (1 + exp(-x))")
    return None


def _vector(rng: np.random.Generator, size, scale: float = 3.0) -> np.ndarray:
    return rng.normal(0.0, scale, size).round(3)


# -- basic_sigmoid ----------------------------------------------------------------------------------
def _basic_sigmoid_cases(rng):
    return [Case((float(rng.normal(0, 3)),)), Case((int(rng.integers(-6, 7)),)),
            Case((float(rng.uniform(-9, 9)),))]


def _basic_sigmoid_hint(case, expected, actual):
    got = _as_floats(actual)
    if got is None:
        return None
    if got.ndim > 0:
        return None  # the policy's message (a number was expected) says it best
    return _sigmoid_mistake(np.asarray(float(case.args[0])), got)


# -- sigmoid ---------------------------------------------------------------------------------------
def _sigmoid_cases(rng):
    return [Case((_vector(rng, int(rng.integers(3, 10))),)),
            Case((_vector(rng, (int(rng.integers(2, 5)), int(rng.integers(2, 6)))),)),
            Case((_vector(rng, (int(rng.integers(1, 4)), 1)),))]


def _sigmoid_hint(case, expected, actual):
    got = _as_floats(actual)
    if got is None:
        return None
    return _sigmoid_mistake(np.asarray(case.args[0], dtype=float), got)


# -- sigmoid_derivative ----------------------------------------------------------------------------
def _sigmoid_derivative_hint(case, expected, actual):
    got = _as_floats(actual)
    if got is None:
        return None
    x = np.asarray(case.args[0], dtype=float)
    s = 1 / (1 + np.exp(-x))
    if _same(got, s):
        return "this is sigmoid(x) itself: the derivative is s * (1 - s), with s = sigmoid(x)"
    if _same(got, x * (1 - x)):
        return "this is x * (1 - x): compute s = sigmoid(x) first, then return s * (1 - s)"
    if _same(got, s * (1 + s)):
        return "this is s * (1 + s): the derivative is s * (1 - s)"
    if _same(got, 1 - s):
        return "this is 1 - s: multiply by s, ds = s * (1 - s)"
    if _same(got, s**2):
        return "this is s * s: the derivative is s * (1 - s)"
    if got.shape == x.shape and not got.any():
        return "every value is 0: check the parentheses, s * (1 - s) (without them, s * 1 - s is s - s = 0)"
    return None


# -- image2vector ----------------------------------------------------------------------------------
def _image2vector_cases(rng):
    # the first picture has every size at least 2, so that a lost or swapped axis always shows; the others
    # may have sizes of 1 too
    shapes = [tuple(int(n) for n in rng.integers(2, 6, size=3))]
    shapes += [tuple(int(n) for n in rng.integers(1, 6, size=3)) for _ in range(2)]
    return [Case((rng.random(shape).round(4),)) for shape in shapes]


def _image2vector_hint(case, expected, actual):
    image = case.args[0]
    n = image.size
    got = _as_floats(actual)
    if got is None:
        return None
    if got.shape == (n,):
        return (f"the result has shape ({n},) but should be a column vector of shape ({n}, 1): "
                "reshape to (height * width * depth, 1), with two dimensions")
    if got.shape == (1, n) and n > 1:
        return f"the result is a row of shape (1, {n}); it should be a column of shape ({n}, 1)"
    if got.shape == (n, 1) and not np.array_equal(got, expected):
        if np.array_equal(got, image.reshape(n, 1, order="F")):  # the same as image.T.reshape(n, 1)
            return ("the values are in the wrong order: reshape the image itself, without transposing it first "
                    "and in numpy's default order (not order='F'): image.reshape(..., 1)")
        if np.array_equal(np.sort(got, axis=0), np.sort(image.reshape(n, 1), axis=0)):
            return ("the values are in the wrong order: reshape the image itself, in numpy's default order, "
                    "without swapping or transposing its axes first")
    return None


# -- normalize_rows --------------------------------------------------------------------------------
def _normalize_rows_cases(rng):
    m, n = int(rng.integers(2, 6)), int(rng.integers(2, 7))
    square = int(rng.integers(2, 6))
    return [Case((_vector(rng, (m, n + (n == m))),)),  # never square, so columns and rows cannot be confused
            Case((_vector(rng, (square, square)),)),
            Case((rng.integers(-9, 10, (int(rng.integers(2, 5)), 3)) + 10 * np.eye(1, 3, 0, dtype=int),))]


def _normalize_rows_hint(case, expected, actual):
    got = _as_floats(actual)
    if got is None:
        return None
    x = np.asarray(case.args[0], dtype=float)
    with np.errstate(all="ignore"):
        row_norm = np.linalg.norm(x, axis=1, keepdims=True)
        by_sum = x / np.sum(x, axis=1, keepdims=True)
        if _same(got, by_sum) or _same(got, x / np.sum(np.abs(x), axis=1, keepdims=True)):
            return ("each row was divided by its sum: divide it by its L2 norm, "
                    "np.linalg.norm(x, axis=1, keepdims=True)")
        if _same(got, x / np.linalg.norm(x, axis=0, keepdims=True)):
            return "the columns were normalised: use axis=1 so that each row gets norm 1"
        if _same(got, x / row_norm**2):
            return ("each row was divided by its squared norm: the L2 norm is the square root of the sum "
                    "of squares")
        if _same(got, x / np.linalg.norm(x)):
            return "the whole matrix was divided by one norm: compute one norm per row with axis=1"
        if x.shape[0] == x.shape[1] and _same(got, x / row_norm.ravel()):
            return ("the row norms were divided along the wrong axis: keep them a column with keepdims=True, "
                    "so that broadcasting divides each row by its own norm")
    return None


# -- softmax ---------------------------------------------------------------------------------------
def _softmax_cases(rng):
    m, n = int(rng.integers(2, 5)), int(rng.integers(2, 7))
    square = int(rng.integers(2, 5))
    # the square matrix first: there, sums without keepdims=True broadcast instead of failing, and the hint
    # can say so (on the other shapes they raise an error)
    return [Case((_vector(rng, (square, square), 2.0),)),
            Case((_vector(rng, (m, n + (n == m)), 2.0),)),
            Case((_vector(rng, (1, int(rng.integers(3, 8))), 2.0),))]


def _softmax_hint(case, expected, actual):
    got = _as_floats(actual)
    if got is None:
        return None
    x = np.asarray(case.args[0], dtype=float)
    e = np.exp(x)
    if got.shape == x.shape and _same(got, e / np.sum(e, axis=0, keepdims=True)):
        if x.shape[0] == 1:
            return "every value is 1: the sums were taken down each column (axis=0); sum each row with axis=1"
        return "each column sums to 1 instead of each row: sum over axis=1 (the columns of each row)"
    if _same(got, e / np.sum(e)):
        return "the whole matrix sums to 1: divide by one sum per row, np.sum(x_exp, axis=1, keepdims=True)"
    if x.shape[0] == x.shape[1] and _same(got, e / np.sum(e, axis=1)):
        return ("the row sums were broadcast along the wrong axis: keep them a column with keepdims=True, "
                "so that each row is divided by its own sum")
    with np.errstate(all="ignore"):
        if _same(got, x / np.sum(x, axis=1, keepdims=True)):
            return "take the exponential first: x_exp = np.exp(x), then divide it by its row sums"
    if _same(got, e):
        return "this is only np.exp(x): divide it by the sum of each row"
    return None


# -- L1 and L2 -------------------------------------------------------------------------------------
def _loss_cases(rng):
    # both labels present and predictions strictly between 0 and 1, so that y - yhat takes both signs: then
    # a sum without absolute values or squares never equals the right one by chance
    cases = []
    for _ in range(3):
        m = int(rng.integers(3, 20))
        y = (rng.random(m) > 0.5).astype(float)
        y[rng.permutation(m)[:2]] = (1.0, 0.0)
        cases.append(Case((rng.uniform(0.05, 0.95, m).round(3), y)))
    return cases


def _loss_common_hint(name, got):
    if got.ndim > 0 and got.size > 1:
        return f"{name} should return one number: add up the elementwise losses with np.sum"
    return None


def _l1_hint(case, expected, actual):
    got = _as_floats(actual)
    if got is None:
        return None
    yhat, y = (np.asarray(a, dtype=float) for a in case.args)
    common = _loss_common_hint("L1", got)
    if common or got.ndim > 0:
        return common
    if math.isclose(float(got), float(np.mean(np.abs(y - yhat))), rel_tol=RTOL) and y.size > 1:
        return "this is the mean of |y - yhat|: L1 is the sum, np.sum(np.abs(y - yhat))"
    if math.isclose(float(got), float(np.sum(y - yhat)), rel_tol=RTOL, abs_tol=ATOL):
        return "take the absolute value of each difference before adding them: np.sum(np.abs(y - yhat))"
    if math.isclose(float(got), float(np.sum((y - yhat) ** 2)), rel_tol=RTOL):
        return ("this is the sum of the squared differences, the L2 loss: L1 adds the absolute differences, "
                "np.sum(np.abs(y - yhat))")
    return None


def _l2_hint(case, expected, actual):
    got = _as_floats(actual)
    if got is None:
        return None
    yhat, y = (np.asarray(a, dtype=float) for a in case.args)
    common = _loss_common_hint("L2", got)
    if common or got.ndim > 0:
        return common
    value = float(got)
    if math.isclose(value, math.sqrt(float(expected)), rel_tol=RTOL):
        return ("this is the square root of the sum of squares (np.linalg.norm): here L2 is the sum of "
                "squares itself, np.sum((y - yhat) ** 2)")
    if math.isclose(value, float(np.mean((y - yhat) ** 2)), rel_tol=RTOL) and y.size > 1:
        return "this is the mean of the squares: L2 is their sum"
    if math.isclose(value, float(np.sum(np.abs(y - yhat))), rel_tol=RTOL):
        return "this is the L1 loss (absolute values): L2 squares each difference, (y - yhat) ** 2"
    if math.isclose(value, float(np.sum(y - yhat) ** 2), rel_tol=RTOL):
        return "square each difference before adding them up, not the sum itself"
    if math.isclose(value, float(np.sum(y - yhat)), rel_tol=RTOL, abs_tol=ATOL):
        return "square each difference before adding them up: np.sum((y - yhat) ** 2)"
    return None


_IMAGE = np.array([[[0.67826139, 0.29380381], [0.90714982, 0.52835647], [0.4215251, 0.45017551]],
                   [[0.92814219, 0.96677647], [0.85304703, 0.52351845], [0.19981397, 0.27417313]],
                   [[0.60659855, 0.00533165], [0.10820313, 0.49978937], [0.34144279, 0.94630077]]])
_YHAT, _Y = np.array([0.9, 0.2, 0.1, 0.4, 0.9]), np.array([1, 0, 0, 1, 1])

checks = Checks(NOTEBOOK, [
    FunctionCheck(
        "basic_sigmoid", lambda case: Expect("basic_sigmoid(x)"), _basic_sigmoid_cases,
        visible=[Case((1,), expected=0.7310585786300049), Case((-2.0,), expected=0.11920292202211755)],
        diagnose=_basic_sigmoid_hint),
    FunctionCheck(
        "sigmoid", lambda case: Expect("sigmoid(x)"), _sigmoid_cases,
        visible=[Case((np.array([1, 2, 3]),),
                      expected=np.array([0.7310585786300049, 0.8807970779778823, 0.9525741268224334])),
                 Case((np.array([[0.0, -1.0], [4.0, 10.0]]),), expected=np.array(
                     [[0.5, 0.2689414213699951], [0.9820137900379085, 0.9999546021312976]]))],
        diagnose=_sigmoid_hint),
    FunctionCheck(
        "sigmoid_derivative", lambda case: Expect("sigmoid_derivative(x)"), _sigmoid_cases,
        visible=[Case((np.array([1, 2, 3]),),
                      expected=np.array([0.19661193324148185, 0.10499358540350662, 0.045176659730912]))],
        diagnose=_sigmoid_derivative_hint, calls=("sigmoid",)),
    FunctionCheck(
        "image2vector", lambda case: Expect("image2vector(image)"), _image2vector_cases,
        visible=[Case((_IMAGE,), expected=np.array(
                     [[0.67826139], [0.29380381], [0.90714982], [0.52835647], [0.4215251], [0.45017551],
                      [0.92814219], [0.96677647], [0.85304703], [0.52351845], [0.19981397], [0.27417313],
                      [0.60659855], [0.00533165], [0.10820313], [0.49978937], [0.34144279], [0.94630077]])),
                 Case((np.array([[[1, 2, 3], [4, 5, 6]]]),),
                      expected=np.array([[1], [2], [3], [4], [5], [6]]))],
        diagnose=_image2vector_hint),
    FunctionCheck(
        "normalize_rows", lambda case: Expect("normalize_rows(x)"), _normalize_rows_cases,
        visible=[Case((np.array([[0, 3, 4], [1, 6, 4]]),), expected=np.array(
            [[0.0, 0.6, 0.8], [0.13736056394868904, 0.8241633836921342, 0.5494422557947561]]))],
        diagnose=_normalize_rows_hint),
    FunctionCheck(
        "softmax", lambda case: Expect("softmax(x)"), _softmax_cases,
        visible=[Case((np.array([[9, 2, 5, 0, 0], [7, 5, 0, 0, 0]]),), expected=np.array(
            [[0.9808976649146187, 0.0008944628906901777, 0.017965767417378736, 0.00012105238865619453,
              0.00012105238865619453],
             [0.87867985588699, 0.11891638717077183, 0.0008012523140793875, 0.0008012523140793875,
              0.0008012523140793875]]))],
        diagnose=_softmax_hint),
    FunctionCheck(
        "L1", lambda case: Expect("L1(yhat, y)"), _loss_cases,
        visible=[Case((_YHAT, _Y), expected=1.1)],
        diagnose=_l1_hint),
    FunctionCheck(
        "L2", lambda case: Expect("L2(yhat, y)"), _loss_cases,
        visible=[Case((_YHAT, _Y), expected=0.43)],
        diagnose=_l2_hint),
])
