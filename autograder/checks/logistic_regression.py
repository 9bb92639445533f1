"""Checks for notebook 03, *Logistic regression with a neural network mindset*.

The visible examples are the ones printed in the notebook (the published values of the original
course where there is one); ``tests/test_checks.py`` proves they equal the reference solution's
results. Hidden cases draw new shapes, sizes and values on every grading run.
"""

from __future__ import annotations

import sys

import numpy as np

from . import Case, Checks, FeedbackCurve, FunctionCheck
from .policy import CheckFailure, Expect, compare

NOTEBOOK = "03_logistic_regression_with_a_neural_network_mindset"


def _reference(name: str):
    """The reference solution's ``name`` where the trusted grader judges a function, else None.

    Some hints compare a result with what a known mistake would give, which takes the reference
    solution. The grader has it loaded (it drew and solved the hidden cases); a learner's kernel does
    not, and must not: there such a hint says nothing and the policy's own message is shown.
    """
    module = sys.modules.get(__name__.rsplit(".", 2)[0] + ".reference")
    if module is None:
        return None
    try:
        return module.reference_function(NOTEBOOK, name)
    except Exception:  # no solution notebook here
        return None


def _same_as(actual, alternative, spec: Expect) -> bool:
    """``actual`` is what a known mistake gives (``alternative``), under the policy's comparison."""
    try:
        compare(alternative, actual, spec)
    except CheckFailure:
        return False
    return True


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


def _initialize_hint(case, expected, actual):
    if not isinstance(actual, tuple | list) or len(actual) != 2:
        return None
    first, second = actual
    if isinstance(second, np.ndarray) and second.ndim > 0 and not (isinstance(first, np.ndarray) and first.ndim > 0):
        return "the two values come back in the wrong order: return w, b (w first, then b)"
    # only values of an accepted type: a hint never hides what the policy says about types
    if type(first) is np.ndarray and first.shape == expected[0].shape and first.dtype.kind in "iuf" and first.any():
        return "w should start as all zeros: create it with np.zeros((dim, 1))"
    if isinstance(second, int | float | np.integer | np.floating) and not isinstance(second, bool) and second != 0:
        return "b should start at 0"
    return None


# -- propagate --------------------------------------------------------------------------------------
def _propagate_cases(rng):
    cases = []
    for _ in range(3):
        n, m = int(rng.integers(2, 9)), int(rng.integers(3, 13))
        m += m == n  # never square: X.shape[0] used for m then always gives a wrong result
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
    n, m = X.shape
    rows = (expected[0]["dw"] * m / n, float(expected[1]) * m / n)
    dw = grads["dw"]
    if (n != m and type(dw) is np.ndarray and dw.shape == rows[0].shape and np.allclose(dw, rows[0])
            and np.isclose(cost, rows[1])):
        return "m is the number of examples, the columns of X: m = X.shape[1], not X.shape[0]"
    reference = _reference("propagate")
    if reference is not None and b != 0 and _same_as(actual, reference(w, 0.0, X, Y), _propagate_expect(case)):
        return "b is missing: the activation is A = sigmoid(w.T X + b), with + b"
    if np.isclose(cost, -float(np.mean(Y * np.log(A)))) or np.isclose(cost, -float(np.mean((1 - Y) * np.log(1 - A)))):
        return "the cost is missing a term: it is -(1/m) Σ [y log a + (1 - y) log(1 - a)], both terms"
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
    # integer w and b, as initialize_with_zeros may give them (the policy accepts integer zeros): model
    # passes them on to optimize, so optimize must cope (w -= ... on an integer copy does not)
    n, m = int(rng.integers(2, 7)), int(rng.integers(4, 12))
    args = (rng.integers(-1, 2, (n, 1)), int(rng.integers(-1, 2)), _data(rng, n, m), _labels(rng, m))
    cases.append(Case(args, {"num_iterations": int(rng.integers(101, 250)), "learning_rate": 0.01}))
    return cases


def _optimize_expect(case):
    m = case.args[2].shape[1]
    params = Expect("params", m=m, fields={"w": Expect('params["w"]', like="w"), "b": Expect('params["b"]')})
    grads = Expect("grads", m=m, fields={"dw": Expect('grads["dw"]', like="w", m=m), "db": Expect('grads["db"]', m=m)})
    return Expect("optimize", items=[params, grads, Expect("costs")])


def _optimize_arguments(case):
    names = ("w", "b", "X", "Y", "num_iterations", "learning_rate")
    values = dict(zip(names, case.args, strict=False)) | case.kwargs
    return (values["w"], values["b"], values["X"], values["Y"], values.get("num_iterations", 100),
            values.get("learning_rate", 0.009))


def _optimize_mistake(case, actual) -> str | None:
    """Name the mistake when ``actual`` is what the reference gives for other settings (grader only)."""
    optimize, propagate = _reference("optimize"), _reference("propagate")
    if optimize is None or propagate is None:
        return None
    w, b, X, Y, iterations, rate = _optimize_arguments(case)
    spec = _optimize_expect(case)
    params_spec = spec.items[0]

    def params(n, r):
        return optimize(w.copy(), b, X, Y, num_iterations=n, learning_rate=r)[0]

    if rate != 1 and _same_as(actual[0], params(iterations, 1.0), params_spec):
        return "the update ignores learning_rate: w = w - learning_rate * dw, and b likewise"
    if _same_as(actual[0], params(iterations, -rate), params_spec):
        return ("w and b move uphill (the cost rises): the update is w - learning_rate * dw "
                "(not w + learning_rate * dw)")
    if iterations > 1 and _same_as(actual[0], params(iterations - 1, rate), params_spec):
        return ("one update short: the loop must run num_iterations times, for i in range(num_iterations), "
                "starting at i = 0")
    if _same_as(actual[0], params(iterations + 1, rate), params_spec):
        return "one update too many: the loop must run num_iterations times, for i in range(num_iterations)"
    start = propagate(w, b, X, Y)[0]
    frozen = {"w": w - iterations * rate * start["dw"], "b": b - iterations * rate * start["db"]}
    if iterations > 1 and _same_as(actual[0], frozen, params_spec):
        return ("every step uses the gradients of the starting point: call propagate inside the loop, to "
                "recompute the gradients for the current w and b each iteration")
    return None


def _optimize_hint(case, expected, actual):
    iterations = _optimize_arguments(case)[4]
    costs = actual[2] if isinstance(actual, tuple | list) and len(actual) == 3 else None
    if isinstance(costs, list | tuple) and len(costs) == iterations and iterations > 1:
        return "costs has one entry per iteration: record the cost only every 100 iterations (i % 100 == 0)"
    if isinstance(actual, tuple | list) and len(actual) == 3:
        mistake = _optimize_mistake(case, actual)
        if mistake:
            return mistake
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
        w = rng.normal(0, 1, (n, 1)).round(3)
        b = round(float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 1.0)), 3)
        X = _data(rng, n, m)
        # Three examples whose labels tell common mistakes apart: one with w.x halfway between 0 and -b (its
        # label depends on b), one surely 1 that is not the first, and one surely 0, whatever b is.
        sure_one = int(rng.integers(1, m))
        depends_on_b, sure_zero = rng.permutation([k for k in range(m) if k != sure_one])[:2]
        for column, wx in ((depends_on_b, -b / 2), (sure_one, abs(b) + 1), (sure_zero, -abs(b) - 1)):
            X[:, column] = (w[:, 0] * wx / max(float(np.sum(w * w)), 1e-6)).round(3)
        cases.append(Case((w, b, X)))
    return cases


def _predict_hint(case, expected, actual):
    w, b, X = case.args
    if type(actual) is not np.ndarray or actual.shape != expected.shape or actual.dtype.kind not in "biuf":
        return None  # the policy's message about the type or shape comes first
    got = actual.astype(float)
    reference = _reference("predict")
    if reference is not None and np.array_equal(got, reference(w, 0.0, X)):
        return "b is missing: the probabilities are A = sigmoid(w.T X + b), with + b"
    m = expected.shape[1]
    if m > 1 and got[0, 0] == expected[0, 0] and not got[0, 1:].any() and expected[0, 1:].any():
        return ("only the first example got a label: loop over all m examples, the columns of A "
                "(range(m) or range(A.shape[1])), not over its rows")
    return None


# -- model ------------------------------------------------------------------------------------------
def _model_cases(rng):
    # fewer test than training examples: predictions made for the wrong set always show in their shape
    n, m_train, m_test = int(rng.integers(3, 7)), int(rng.integers(8, 16)), int(rng.integers(4, 8))
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
        w = np.asarray(actual["w"], dtype=float)
        if not np.allclose(w, expected["w"]):
            plain = type(actual["w"]) is np.ndarray and w.shape == expected["w"].shape
            mistake = _model_mistake(case, w) if plain else None
            if mistake:
                return mistake
            if plain and not w.any():
                return ('d["w"] is still the starting zeros: after optimize, take w = params["w"] and '
                        'b = params["b"], and use them for the predictions and in d')
            return ('d["w"] is not the trained w: initialise with initialize_with_zeros, then train with optimize '
                    "passing num_iterations and learning_rate")
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _model_mistake(case, w: np.ndarray) -> str | None:
    """Name the mistake when ``w`` is what training with other data or settings gives (grader only)."""
    optimize = _reference("optimize")
    if optimize is None:
        return None
    x_train, y_train, x_test, y_test = case.args
    iterations, rate = case.kwargs["num_iterations"], case.kwargs["learning_rate"]

    def trained(X, Y, **settings):
        return optimize(np.zeros((X.shape[0], 1)), 0.0, X, Y, **settings)[0]["w"]

    def same(alternative):
        return np.allclose(w, alternative)

    if same(trained(x_test, y_test, num_iterations=iterations, learning_rate=rate)):
        return ("w was trained on the test set: train with X_train and Y_train, and use X_test only for "
                'd["Y_prediction_test"]')
    if same(trained(x_train, y_train, num_iterations=iterations)):
        return ("the learning rate given to model is not used: pass it on to optimize "
                "(learning_rate=learning_rate); optimize trained with its own default")
    if same(trained(x_train, y_train, learning_rate=rate)):
        return ("the number of iterations given to model is not used: pass it on to optimize "
                "(num_iterations=num_iterations); optimize trained with its own default")
    if same(trained(x_train, y_train)):
        return "pass num_iterations and learning_rate on to optimize: it trained with its own defaults"
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

def _curve_case() -> Case:
    """Fixed data for the feedback page's cost curve: 6 features, 60 training and 20 test examples."""
    rng = np.random.default_rng(2026)
    n, m_train, m_test = 6, 60, 20
    shift = rng.normal(0, 0.6, (n, 1))
    y_train, y_test = _labels(rng, m_train), _labels(rng, m_test)
    x_train = (_data(rng, n, m_train) + shift * (2 * y_train - 1)).round(3)
    x_test = (_data(rng, n, m_test) + shift * (2 * y_test - 1)).round(3)
    return Case((x_train, y_train, x_test, y_test), {"num_iterations": 2000, "learning_rate": 0.01})


_FEEDBACK_CURVE = FeedbackCurve(
    "model", _curve_case(), lambda d: list(np.ravel(np.asarray(d["costs"], dtype=float))), every=100,
    about="a small grading dataset (6 features, 60 training examples), 2000 iterations, learning rate 0.01")

checks = Checks(NOTEBOOK, [
    FunctionCheck(
        "sigmoid", lambda case: Expect("sigmoid(z)"), _sigmoid_cases,
        visible=[Case((np.array([0.0, 2.0]),), expected=np.array([0.5, 0.8807970779778823])),
                 Case((0.0,), expected=0.5)],
        diagnose=_sigmoid_hint),
    FunctionCheck(
        "initialize_with_zeros", lambda case: Expect("initialize_with_zeros", items=[Expect("w"), Expect("b")]),
        _initialize_cases,
        visible=[Case((2,), expected=(np.zeros((2, 1)), 0.0))],
        diagnose=_initialize_hint),
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
                      expected=np.array([[1.0, 1.0, 0.0]]))],
        diagnose=_predict_hint),
    FunctionCheck("model", _model_expect, _model_cases, visible=[_MODEL_EXAMPLE], diagnose=_model_hint),
], feedback_curve=_FEEDBACK_CURVE)
