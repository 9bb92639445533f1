"""Checks for notebook 03, *Logistic regression with a neural network mindset*.

The visible examples are the ones printed in the notebook (the published values of the original
course where there is one); ``tests/test_checks.py`` proves they equal the reference solution's
results. Hidden cases draw new shapes, sizes and values on every grading run.
"""

from __future__ import annotations

import numpy as np

from . import Case, Checks, FunctionCheck
from .policy import Expect

NOTEBOOK = "03_logistic_regression_with_a_neural_network_mindset"


def _labels(rng: np.random.Generator, m: int) -> np.ndarray:
    """Labels of shape (1, m) with both classes present."""
    y = (rng.random((1, m)) > 0.5).astype(float)
    y[0, 0], y[0, -1] = 1.0, 0.0
    return y


def _data(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    return rng.normal(0.0, 1.0, (n, m)).round(3)


# -- sigmoid ---------------------------------------------------------------------------------------
def _sigmoid_cases(rng):
    return [Case((float(rng.normal(0, 3)),)),
            Case((rng.normal(0, 4, int(rng.integers(3, 9))),)),
            Case((rng.normal(0, 4, (int(rng.integers(2, 5)), int(rng.integers(2, 6)))),))]


def _sigmoid_hint(case, expected, actual):
    z = np.asarray(case.args[0], dtype=float)
    try:
        got = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        return None
    if got.shape == z.shape and np.allclose(got, 1 / (1 + np.exp(z))):
        return "this is sigmoid(-z): the formula is 1 / (1 + np.exp(-z))"
    if got.shape == z.shape and np.allclose(got, 1 / 1 + np.exp(-z)):
        return "operator precedence: 1 / 1 + np.exp(-z) divides first; write 1 / (1 + np.exp(-z))"
    if got.shape == z.shape and np.allclose(got, np.exp(-z)):
        return "this is exp(-z), not the sigmoid 1 / (1 + exp(-z))"
    return None


# -- initialize_with_zeros --------------------------------------------------------------------------
def _initialize_cases(rng):
    return [Case((int(rng.integers(1, 40)),)), Case((int(rng.integers(40, 300)),))]


# -- propagate --------------------------------------------------------------------------------------
def _propagate_cases(rng):
    cases = []
    for _ in range(3):
        n, m = int(rng.integers(2, 9)), int(rng.integers(3, 13))
        w = rng.normal(0, 0.5, (n, 1)).round(3)
        cases.append(Case((w, float(rng.normal(0, 0.5)), _data(rng, n, m), _labels(rng, m))))
    return cases


def _propagate_expect(case):
    m = case.args[2].shape[1]
    grads = Expect("grads", m=m, fields={"dw": Expect('grads["dw"]', m=m, like="w"),
                                         "db": Expect('grads["db"]', m=m)})
    return Expect("propagate", items=[grads, Expect("cost", m=m)])


def _propagate_hint(case, expected, actual):
    w, b, X, Y = case.args
    grads, cost = actual
    A = 1 / (1 + np.exp(-(w.T @ X + b)))
    try:
        cost = float(np.squeeze(cost))
        db = float(np.squeeze(grads["db"]))
    except (TypeError, ValueError, KeyError):
        return None
    if np.isclose(cost, float(expected[1]) * -1):
        return "cost has the wrong sign: the cost is -(1/m) Σ [y log a + (1 - y) log(1 - a)]"
    if np.isclose(db, float(np.sum(A - Y))) and X.shape[1] > 1:
        return f'grads["db"] is about m = {X.shape[1]} times too large: did you divide by m?'
    if np.isclose(db, float(np.mean(Y - A))):
        return 'grads["db"] has the opposite sign: use A - Y, not Y - A'
    return None


# -- optimize ---------------------------------------------------------------------------------------
def _optimize_cases(rng):
    cases = []
    for keyword in (True, False):
        n, m = int(rng.integers(2, 7)), int(rng.integers(4, 12))
        w = rng.normal(0, 0.3, (n, 1)).round(3)
        args = (w, float(rng.normal(0, 0.3)), _data(rng, n, m), _labels(rng, m))
        iterations, rate = int(rng.integers(101, 420)), float(rng.uniform(0.005, 0.05))
        if keyword:
            cases.append(Case(args, {"num_iterations": iterations, "learning_rate": rate}))
        else:
            cases.append(Case((*args, iterations, rate)))
    return cases


def _optimize_expect(case):
    m = case.args[2].shape[1]
    params = Expect("params", m=m, fields={"w": Expect('params["w"]', like="w"), "b": Expect('params["b"]')})
    grads = Expect("grads", m=m, fields={"dw": Expect('grads["dw"]', like="w", m=m), "db": Expect('grads["db"]', m=m)})
    return Expect("optimize", items=[params, grads, Expect("costs")])


def _optimize_hint(case, expected, actual):
    iterations = case.kwargs.get("num_iterations", case.args[4] if len(case.args) > 4 else 100)
    costs = actual[2] if isinstance(actual, tuple | list) and len(actual) == 3 else None
    if isinstance(costs, list | tuple) and len(costs) == iterations:
        return "costs has one entry per iteration: record the cost only every 100 iterations (i % 100 == 0)"
    try:
        values = [float(np.squeeze(c)) for c in costs]
    except (TypeError, ValueError):
        return None
    if len(values) >= 2 and values[-1] > values[0] + 1e-9:
        return "the cost rises: is the update w - learning_rate * dw (not w + learning_rate * dw)?"
    if len(values) >= 2 and np.allclose(values, values[0]):
        return "the cost never changes: update w and b inside the loop, and recompute the gradients each iteration"
    return None


# -- predict ----------------------------------------------------------------------------------------
def _predict_cases(rng):
    cases = []
    for _ in range(3):
        n, m = int(rng.integers(2, 9)), int(rng.integers(3, 15))
        cases.append(Case((rng.normal(0, 1, (n, 1)).round(3), float(rng.normal(0, 0.5)), _data(rng, n, m))))
    return cases


# -- model ------------------------------------------------------------------------------------------
def _model_cases(rng):
    n, m_train, m_test = int(rng.integers(3, 7)), int(rng.integers(8, 16)), int(rng.integers(4, 9))
    shift = rng.normal(0, 1, (n, 1))
    y_train, y_test = _labels(rng, m_train), _labels(rng, m_test)
    x_train = (_data(rng, n, m_train) + shift * (2 * y_train - 1)).round(3)
    x_test = (_data(rng, n, m_test) + shift * (2 * y_test - 1)).round(3)
    iterations, rate = int(rng.integers(101, 330)), float(rng.uniform(0.005, 0.1))
    return [Case((x_train, y_train, x_test, y_test), {"num_iterations": iterations, "learning_rate": rate})]


def _model_expect(case):
    fields = {key: Expect(f'd["{key}"]') for key in ("costs", "w", "b", "learning_rate", "num_iterations")}
    fields["w"].like = "X_train's first dimension by 1"
    fields["Y_prediction_test"] = Expect('d["Y_prediction_test"]', labels=True)
    fields["Y_prediction_train"] = Expect('d["Y_prediction_train"]', labels=True)
    return Expect("d", fields=fields)


def _model_hint(case, expected, actual):
    if not isinstance(actual, dict):
        return None
    x_train, y_train, x_test, y_test = case.args
    try:
        swapped = np.array_equal(actual["Y_prediction_train"], expected["Y_prediction_test"])
        if swapped and x_train.shape != x_test.shape:
            return 'd["Y_prediction_train"] holds predictions for the test set: predict on X_train for it'
        costs = actual["costs"]
        if len(costs) == len(expected["costs"]) and not np.isclose(float(costs[0]), float(expected["costs"][0])):
            return "the first cost is wrong: train on X_train and Y_train, starting from w and b set to zero"
        if not np.allclose(np.asarray(actual["w"], dtype=float), expected["w"]):
            return ('d["w"] is not the trained w: initialise with initialize_with_zeros, then train with optimize '
                    "passing num_iterations and learning_rate")
    except (KeyError, TypeError, ValueError):
        return None
    return None


_MODEL_EXAMPLE = Case(
    (np.array([[1.0, -2.0, -1.0, 0.5], [3.0, 0.5, -3.2, 1.0]]), np.array([[1, 0, 0, 1]]),
     np.array([[0.0, -1.5], [2.0, -2.0]]), np.array([[1, 0]])),
    {"num_iterations": 150, "learning_rate": 0.1},
    expected={"costs": [0.6931471805599453, 0.05925358886398477],
              "Y_prediction_test": np.array([[1.0, 0.0]]),
              "Y_prediction_train": np.array([[1.0, 0.0, 0.0, 1.0]]),
              "w": np.array([[1.7579613814061397], [1.2545263807280493]]),
              "b": 0.11435356550377794, "learning_rate": 0.1, "num_iterations": 150},
)

_W, _B = np.array([[1.0], [2.0]]), 1.5
_X, _Y = np.array([[1.0, -2.0, -1.0], [3.0, 0.5, -3.2]]), np.array([[1, 1, 0]])

checks = Checks(NOTEBOOK, [
    FunctionCheck(
        "sigmoid", lambda case: Expect("sigmoid(z)"), _sigmoid_cases,
        visible=[Case((np.array([0.0, 2.0]),), expected=np.array([0.5, 0.8807970779778823])),
                 Case((0.0,), expected=0.5)],
        diagnose=_sigmoid_hint),
    FunctionCheck(
        "initialize_with_zeros", lambda case: Expect("initialize_with_zeros", items=[Expect("w"), Expect("b")]),
        _initialize_cases,
        visible=[Case((2,), expected=(np.zeros((2, 1)), 0.0))]),
    FunctionCheck(
        "propagate", _propagate_expect, _propagate_cases,
        visible=[Case((_W, _B, _X, _Y), expected=(
            {"dw": np.array([[0.2507153166184082], [-0.06604096325829123]]), "db": -0.12500404500439652},
            0.15900537707692405))],
        diagnose=_propagate_hint),
    FunctionCheck(
        "optimize", _optimize_expect, _optimize_cases,
        visible=[Case((_W, _B, _X, _Y), {"num_iterations": 100, "learning_rate": 0.009}, expected=(
            {"w": np.array([[0.8095604646163251], [2.050820199511423]]), "b": 1.5948713189708588},
            {"dw": np.array([[0.1786050467423819], [-0.04840655526979531]]), "db": -0.08888460336847771},
            [0.15900537707692405]))],
        diagnose=_optimize_hint),
    FunctionCheck(
        "predict", lambda case: Expect("Y_prediction", labels=True), _predict_cases,
        visible=[Case((np.array([[0.1124579], [0.23106775]]), -0.3, np.array([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]])),
                      expected=np.array([[1.0, 1.0, 0.0]]))]),
    FunctionCheck("model", _model_expect, _model_cases, visible=[_MODEL_EXAMPLE], diagnose=_model_hint),
])
