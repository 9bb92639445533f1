"""Do the checks agree with the reference solution, and does the policy accept and refuse what it says?"""

import numpy as np
import pytest

from autograder.checks import Case, CheckFailure, decode_inputs, encode_inputs
from autograder.checks.policy import Expect, compare
from autograder.course import NOTEBOOK_NAMES
from autograder.reference import reference_function
from autograder.verify import checks_for

ALL_FUNCTIONS = [(nb, name) for nb in NOTEBOOK_NAMES for name in checks_for(nb).functions]


@pytest.mark.parametrize(("notebook", "name"), ALL_FUNCTIONS)
def test_visible_examples_are_the_reference_results(notebook, name):
    """The literal expected values shown to learners must be what the reference solution returns."""
    check = checks_for(notebook)[name]
    assert check.visible, f"{name} has no visible example"
    reference = reference_function(notebook, name)
    for number, case in enumerate(check.visible, start=1):
        check.judge_call(case, reference, f"visible example {number}")


@pytest.mark.parametrize(("notebook", "name"), ALL_FUNCTIONS)
def test_reference_passes_fresh_hidden_cases_sent_as_inputs_only(notebook, name):
    checks = checks_for(notebook)
    reference = reference_function(notebook, name)
    for seed in range(5):
        cases = checks.fresh_cases(name, seed=seed)
        for case, sent in zip(cases, decode_inputs(encode_inputs(cases)), strict=True):
            assert sent.expected is None  # what reaches a learner's process never holds the answer
            sent.expected = case.expected
            checks[name].judge_call(sent, reference, "hidden")


def _derivative(body: str):
    namespace = {}
    exec("def numerical_derivative(f, a, eps=1e-4, method='centred'):\n" + body, namespace)
    return namespace["numerical_derivative"]


@pytest.mark.parametrize(("body", "message"), [
    ("    return (f(a + eps) - f(a - eps)) / (2 * eps)\n", "must raise ValueError, but it returned 6.0000"),
    ("    assert method in ('centred', 'forward')\n    return 0.0\n", "but it raised AssertionError"),
])
def test_an_unknown_method_must_raise_valueerror(body, message):
    checks = checks_for("02_derivatives_and_gradient_descent")
    case = checks["numerical_derivative"].visible[-1]
    with pytest.raises(CheckFailure, match="method='backward' is neither 'centred' nor 'forward'") as failure:
        checks["numerical_derivative"].judge_call(case, _derivative(body), "visible example 5")
    assert message in str(failure.value)


def test_hidden_cases_differ_between_runs():
    checks = checks_for("03_logistic_regression_with_a_neural_network_mindset")
    first, second = checks.fresh_cases("propagate"), checks.fresh_cases("propagate")
    assert any(a.args[2].shape != b.args[2].shape or not np.array_equal(a.args[2], b.args[2])
               for a, b in zip(first, second, strict=True))


POLICY_ACCEPTS = [
    (0.25, 0.25), (0.25, np.float64(0.25)), (0.25, np.array(0.25)), (0.25, 0.25 + 1e-9),
    (np.array([[1.0], [2.0]]), np.array([[1.0], [2.0]], dtype=np.float32)),
    ([0.5, 0.25], np.array([0.5, 0.25])), ([0.5, 0.25], (np.float64(0.5), np.array(0.25))),
    # single precision is judged with the tolerance of float32 arithmetic
    (np.array([[0.1], [2.0]]), np.array([[0.1 * (1 + 6e-5)], [2.0]], dtype=np.float32)),
    (0.25, np.float32(0.25 + 2e-6)), ([0.5, 0.25], [np.float32(0.5), np.float32(0.25 * (1 + 6e-5))]),
]
POLICY_REFUSES = [
    (0.25, np.array([0.25]), "single number"),
    (0.25, np.array([[0.25]]), "single number"),
    (0.25, "0.25", "should be a number"),
    (np.zeros((3, 1)), np.zeros(3), "column vector"),
    (np.zeros((3, 1)), np.zeros((1, 3)), "transpose"),
    (np.zeros((3, 1)), [0.0, 0.0, 0.0], "numpy array"),
    (np.array([[1.0], [2.0]]), np.array([[-1.0], [-2.0]]), "opposite sign"),
    (np.array([[1.0], [2.0]]), np.array([[5.0], [10.0]]), "m = 5 times too large"),
    (np.array([[1.0], [2.0]]), np.array([[1.0], [np.nan]]), "NaN"),
    ([0.5, 0.25], [0.5], "has 1 entries"),
    (np.array([[0.1], [2.0]]), np.array([[0.1 * (1 + 6e-5)], [2.0]]), "1 of 2 values are wrong \\(at \\[0, 0\\]\\)"),
    (0.25, 0.3, "cost is wrong: it is larger than expected"),
    (np.array([[1.0], [2.0]]), np.array([[3.0], [6.0]]), "constant factor"),
]


@pytest.mark.parametrize(("expected", "actual"), POLICY_ACCEPTS)
def test_policy_accepts(expected, actual):
    compare(expected, actual, Expect("value", m=5))


@pytest.mark.parametrize(("expected", "actual", "words"), POLICY_REFUSES)
def test_policy_refuses_with_a_reason(expected, actual, words):
    with pytest.raises(CheckFailure, match=words):
        compare(expected, actual, Expect("cost" if "cost" in words else "value", m=5))


def test_labels_accept_any_numeric_dtype_and_name_probabilities():
    expected = np.array([[1.0, 0.0, 1.0]])
    for dtype in (int, float, bool):
        compare(expected, expected.astype(dtype), Expect("Y_prediction", labels=True))
    with pytest.raises(CheckFailure, match="0.5 threshold"):
        compare(expected, np.array([[0.9, 0.2, 0.7]]), Expect("Y_prediction", labels=True))


def test_a_lying_ndarray_subclass_is_not_accepted():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(self.shape, dtype=bool)

    liar = np.zeros((2, 1)).view(Liar)
    with pytest.raises(CheckFailure):
        compare(np.array([[1.0], [2.0]]), liar, Expect("w"))


def test_a_case_gives_the_function_copies_of_its_inputs():
    x = np.array([1.0, 2.0])

    def clobber(values):
        values *= 0
        return values

    Case((x,)).call(clobber)
    assert x.tolist() == [1.0, 2.0]


def test_the_reference_code_cannot_be_changed_by_a_caller():
    """reference_code is cached and shared: a caller that edits its functions must get a copy first."""
    from autograder.reference import reference_code

    functions = reference_code("03_logistic_regression_with_a_neural_network_mindset").functions
    with pytest.raises(TypeError):
        functions["sigmoid"] = "def sigmoid(z):\n    return z"
