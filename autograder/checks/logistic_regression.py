"""Checks for notebook 03, *Logistic regression with a neural network mindset*.

The visible examples are the ones printed in the notebook (the published values of the original
course where there is one); ``tests/test_checks.py`` proves they equal the reference solution's
results. Hidden cases draw new shapes, sizes and values on every grading run.
"""

from __future__ import annotations

import numpy as np

from . import Case, Checks, FeedbackCurve, FunctionCheck, reference_solution
from .policy import CheckFailure, Expect, compare

NOTEBOOK = "03_logistic_regression_with_a_neural_network_mindset"


def _reference(name: str):
    """The reference solution's ``name`` where the trusted grader judges a function, else None.

    Some hints compare a result with what a known mistake would give, which takes the reference
    solution: only the trusted grader has it (:func:`autograder.checks.reference_solution`).
    """
    return reference_solution(NOTEBOOK, name)


def _once(case: Case, key: tuple, compute):
    """What the reference gives for ``case`` under other settings (``key``), computed once per case: the
    hints of one failure may ask for it several times, and a sweep over many submissions too."""
    store = case.__dict__.setdefault("_alternatives", {})
    if key not in store:
        store[key] = compute()
    return store[key]


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
    if got.shape == z.shape and np.allclose(got, (1 - np.exp(-z)) / (1 + np.exp(-z))):
        return ("this is (1 - exp(-z)) / (1 + exp(-z)), the shape of tanh(z / 2), which runs from -1 to 1: the "
                "sigmoid has 1 on top, 1 / (1 + np.exp(-z))")
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
    dw = grads["dw"]
    if (np.isclose(db, float(np.mean(Y - A))) and type(dw) is np.ndarray and dw.shape == w.shape
            and np.allclose(dw, -expected[0]["dw"])):
        return "the gradients have the opposite sign: dz = A - Y, not Y - A (for dw and db)"
    if np.isclose(db, float(np.mean(Y - A))):
        return 'grads["db"] has the opposite sign: use A - Y, not Y - A'
    n, m = X.shape
    rows = (expected[0]["dw"] * m / n, float(expected[1]) * m / n)
    if (n != m and type(dw) is np.ndarray and dw.shape == rows[0].shape and np.allclose(dw, rows[0])
            and np.isclose(cost, rows[1])):
        return "m is the number of examples, the columns of X: m = X.shape[1], not X.shape[0]"
    reference = _reference("propagate")
    if reference is not None and b != 0 and _same_as(actual, reference(w, 0.0, X, Y), _propagate_expect(case)):
        return "b is missing: the activation is A = sigmoid(w.T X + b), with + b"
    if np.isclose(cost, -float(np.mean(Y * np.log(A)))) or np.isclose(cost, -float(np.mean((1 - Y) * np.log(1 - A)))):
        return "the cost is missing a term: it is -(1/m) Σ [y log a + (1 - y) log(1 - a)], both terms"
    if np.isclose(cost, -float(np.mean(Y * np.log(1 - A) + (1 - Y) * np.log(A)))):
        return ("the two log terms are swapped: y goes with log(a), and 1 - y with log(1 - a): "
                "-(1/m) Σ [y log a + (1 - y) log(1 - a)]")
    return None


# -- optimize ---------------------------------------------------------------------------------------
def _optimize_inputs(rng, scale: float = 0.3):
    n, m = int(rng.integers(2, 7)), int(rng.integers(4, 12))
    m += m == n  # never square: a b updated with dw then fails in its shape, not in an error
    w = rng.normal(0, scale, (n, 1)).round(3)
    return w, float(rng.normal(0, scale)), _data(rng, n, m), _labels(rng, m)


def _optimize_cases(rng):
    """Float weights only (the signature promises no integer ones); three kinds of run.

    First two updates with a large step, where most slips in the loop already show and can be told apart
    (a step short or too many, gradients never recomputed, b updated with dw); then a long run
    (more than 100 iterations, so that several costs are recorded); then a run on float32 data, as the
    notebook's section 11 does, judged within float32's tolerance.
    """
    short = Case(_optimize_inputs(rng, 0.5), {"num_iterations": 2, "learning_rate": float(rng.uniform(0.1, 0.5))})
    long = Case(_optimize_inputs(rng), {"num_iterations": int(rng.integers(101, 160)),
                                        "learning_rate": float(rng.uniform(0.01, 0.05))})
    w, b, X, Y = _optimize_inputs(rng)
    single = Case((w.astype(np.float32), b, X.astype(np.float32), Y.astype(np.float32),
                   int(rng.integers(10, 60)), float(rng.uniform(0.01, 0.1))))
    return [short, long, single]


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
        return _once(case, ("optimize", n, r),
                     lambda: optimize(w.copy(), b, X, Y, num_iterations=n, learning_rate=r)[0])

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
    params = actual[0] if isinstance(actual, tuple | list) and len(actual) == 3 else None
    b = params.get("b") if isinstance(params, dict) else None
    if isinstance(b, np.ndarray) and b.size > 1:
        return (f'params["b"] became an array of shape {b.shape}: b is one number, updated with db '
                f"(is it updated with dw, the gradient of w, by mistake?)")
    if isinstance(actual, tuple | list) and len(actual) == 3:
        mistake = _optimize_mistake(case, actual)
        if mistake:
            return mistake
    if isinstance(costs, list | tuple | np.ndarray) and len(costs) == 0 and len(expected[2]) > 0:
        return ("costs is empty: record the cost every 100 iterations, starting at i = 0: "
                "if i % 100 == 0: costs.append(cost)")
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
    """Each case holds examples placed so that the usual slips give labels different from the right ones, and
    from each other's: without b, the 0.5 threshold applied to z instead of A, flipped, all one label, only
    the first example labelled.

    The examples are set by their z = w.x + b (x a multiple of w): z = 0.25 (a probability above 0.5, but
    z < 0.5), z = b/2 (whose label changes when b is left out), one that separates "without b" from
    "threshold on z" whatever the sign of b, one surely 1 (not the first) and one surely 0.
    """
    cases = []
    for _ in range(3):
        n, m = int(rng.integers(2, 9)), int(rng.integers(6, 15))
        w = rng.normal(0, 1, (n, 1)).round(3)
        w[0, 0] = w[0, 0] if abs(w[0, 0]) > 0.3 else 0.5  # |w| not tiny: x = z w / |w|^2 stays moderate
        size = float(rng.uniform(0.3, 0.44)) if rng.random() < 0.5 else float(rng.uniform(0.56, 1.0))
        b = round(float(rng.choice([-1.0, 1.0])) * size, 3)  # never near 0.5, where two slips would agree
        X = _data(rng, n, m)
        sure_one = int(rng.integers(1, m))
        others = [int(k) for k in rng.permutation([k for k in range(m) if k != sure_one])]
        separator = (0.5 + b) / 2 if b > 0 else -abs(b) - 2  # between 0.5 and b: tells "no b" from "z > 0.5"
        for column, z in zip([*others[:4], sure_one], (0.25, b / 2, separator, -abs(b) - 1, abs(b) + 1),
                             strict=True):
            X[:, column] = (w[:, 0] * (z - b) / float(np.sum(w * w))).round(3)
        cases.append(Case((w, b, X)))
    return cases


def _predict_hint(case, expected, actual):
    w, b, X = case.args
    if type(actual) is not np.ndarray or actual.shape != expected.shape or actual.dtype.kind not in "biuf":
        return None  # the policy's message about the type or shape comes first
    got = actual.astype(float)
    z = np.dot(np.reshape(w, (-1, 1)).T, X) + b
    if np.array_equal(got, (z > 0.5).astype(float)):
        return ("the 0.5 threshold is for the probabilities A = sigmoid(z), not for z = w.T X + b itself: "
                "compare A > 0.5 (which is the same as z > 0)")
    if np.array_equal(got, (z - b > 0).astype(float)):
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
    # more than 100 iterations (two costs), and a learning rate far from optimize's default (0.009)
    iterations, rate = int(rng.integers(101, 170)), float(rng.uniform(0.03, 0.1))
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
        test_is_train = np.array_equal(actual["Y_prediction_test"], expected["Y_prediction_train"])
        train_is_test = np.array_equal(actual["Y_prediction_train"], expected["Y_prediction_test"])
        if test_is_train and train_is_test and x_train.shape != x_test.shape:
            return ('the two predictions are swapped: d["Y_prediction_test"] is predict(w, b, X_test), and '
                    'd["Y_prediction_train"] is predict(w, b, X_train)')
        if train_is_test and x_train.shape != x_test.shape:
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
            trained = len(costs) == len(expected["costs"]) and np.allclose(
                np.asarray(costs, dtype=float).ravel(), np.asarray(expected["costs"], dtype=float).ravel())
            if plain and not w.any() and len(costs) > 1 and np.allclose(np.asarray(costs, dtype=float),
                                                                         float(expected["costs"][0])):
                return ("w and b never moved, and the cost never changed: optimize trained with a learning rate of "
                        "0. Are the arguments given to optimize in its order, (w, b, X, Y, num_iterations, "
                        "learning_rate, print_cost)? Passing them by name (learning_rate=learning_rate) avoids this")
            if plain and not w.any() and trained:
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
        return _once(case, ("model", X is x_test, tuple(sorted(settings.items()))),
                     lambda: optimize(np.zeros((X.shape[0], 1)), 0.0, X, Y, **settings)[0]["w"])

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
        "initialize_with_zeros",
        lambda case: Expect("initialize_with_zeros", items=[Expect("w", floats=True), Expect("b")]),
        _initialize_cases,
        visible=[Case((2,), expected=(np.zeros((2, 1)), 0.0))],
        diagnose=_initialize_hint),
    FunctionCheck(
        "propagate", _propagate_expect, _propagate_cases,
        visible=[Case((_W, _B, _X, _Y), expected=(
            {"dw": np.array([[0.2507153166184082], [-0.06604096325829123]]), "db": -0.12500404500439652},
            0.15900537707692405))],
        diagnose=_propagate_hint, calls=("sigmoid",)),
    FunctionCheck(
        "optimize", _optimize_expect, _optimize_cases,
        visible=[Case((_W, _B, _X, _Y), {"num_iterations": 100, "learning_rate": 0.009}, expected=(
            {"w": np.array([[0.8095604646163251], [2.050820199511423]]), "b": 1.5948713189708588},
            {"dw": np.array([[0.1786050467423819], [-0.04840655526979531]]), "db": -0.08888460336847771},
            [0.15900537707692405]))],
        diagnose=_optimize_hint, calls=("propagate",), keeps_inputs=True),
    FunctionCheck(
        "predict", lambda case: Expect("Y_prediction", labels=True), _predict_cases,
        visible=[Case((np.array([[0.1124579], [0.23106775]]), -0.3, np.array([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]])),
                      expected=np.array([[1.0, 1.0, 0.0]])),
                 # z = 0.25, 0.7, -0.2, 0.45: without b, or with the threshold on z, the labels differ
                 Case((np.array([[1.0], [-1.0]]), 0.4, np.array([[0.15, 0.5, -0.2, 0.25], [0.3, 0.2, 0.4, 0.2]])),
                      expected=np.array([[1.0, 1.0, 0.0, 1.0]]))],
        diagnose=_predict_hint, calls=("sigmoid",)),
    FunctionCheck("model", _model_expect, _model_cases, visible=[_MODEL_EXAMPLE], diagnose=_model_hint,
                  calls=("initialize_with_zeros", "optimize", "predict")),
], feedback_curve=_FEEDBACK_CURVE)
