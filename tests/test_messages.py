"""What a learner reads when a test fails: the message alone (none of the checks' frames), what was expected
and what came back for a visible example, nothing of the expected values for a hidden one, the function
that really is wrong (a visible test checks the functions it calls first), and a hint for common errors."""

from __future__ import annotations

import math
import re

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from autograder.checks import (
    Case,
    CheckFailure,
    decode_inputs,
    describe_error,
    encode_inputs,
    error_hint,
    record_returns,
)
from autograder.checks.policy import Expect, compare
from autograder.course import ROOT
from autograder.reference import reference_code
from autograder.verify import checks_for, judge_returns

NB01 = "01_numpy_and_vectorization"
NB03 = "03_logistic_regression_with_a_neural_network_mindset"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

WRONG_PROPAGATE = '''
def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T)
    db = np.sum(A - Y) / m
    return {"dw": dw, "db": db}, float(cost)
'''


def _namespace(notebook: str, *sources: str) -> dict:
    """The reference functions of ``notebook`` with ``sources`` (a learner's cells) run after them."""
    namespace = {"__name__": "__main__"}
    exec(compile(reference_code(notebook).functions_source(), "<reference>", "exec"), namespace)
    for source in sources:
        exec(compile(source, "<learner cell>", "exec"), namespace)
    return namespace


# -- in a real kernel: what the notebook shows ---------------------------------------------------------
KERNEL_CELLS = [
    "import numpy as np\nfrom autograder.checks.logistic_regression import checks\n"
    "from autograder.checks.numpy_and_vectorization import checks as checks01",
    "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n\nchecks.visible('sigmoid', sigmoid)",
    "def normalize_rows(x):\n    x_norm = np.linalg.norm(x, axis=1)\n    return x / x_norm\n\n"
    "checks01.visible('normalize_rows', normalize_rows)",
    "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n" + WRONG_PROPAGATE + "\n"
    + reference_code(NB03).functions["optimize"] + "\n\nchecks.visible('optimize', optimize)",
]


@pytest.fixture(scope="module")
def kernel_tracebacks() -> list[str]:
    """Run the cells in a real kernel; the rendered traceback of each cell ("" when it raised nothing)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in KERNEL_CELLS])
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    shown = []
    for cell in nb.cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        shown.append(ANSI.sub("", "\n".join(errors[0].traceback)) if errors else "")
    return shown


def _no_checks_frames(text: str) -> None:
    assert "autograder/checks" not in text and "autograder" + "\\checks" not in text, text
    for source in ("__tracebackhide__", "judge_call", "compare(case.expected", "def visible", "case.call(fn)"):
        assert source not in text, f"the checks' own code shows in the traceback ({source!r}):\n{text}"


def test_a_failing_visible_test_shows_the_message_and_no_frames_of_the_checks(kernel_tracebacks):
    assert kernel_tracebacks[0] == ""
    text = kernel_tracebacks[1]
    _no_checks_frames(text)
    assert "CheckFailure" in text and "this is sigmoid(-z)" in text
    assert "expected sigmoid(z)" in text and "got:" in text and "difference:" in text
    assert len(text.splitlines()) <= 6, text


def test_a_learners_own_error_shows_their_frames_and_a_hint_but_no_frames_of_the_checks(kernel_tracebacks):
    text = kernel_tracebacks[2]
    _no_checks_frames(text)
    assert "ValueError" in text and "return x / x_norm" in text  # the learner's own line
    assert "keepdims=True" in text and "visible example 1" in text


def test_a_visible_test_sends_the_learner_to_the_function_that_is_wrong(kernel_tracebacks):
    text = kernel_tracebacks[3]
    _no_checks_frames(text)
    assert "fix propagate above first" in text and "times too large" in text


# -- visible examples: expected versus got --------------------------------------------------------------
def test_a_visible_example_shows_expected_got_and_the_difference():
    checks = checks_for(NB03)
    namespace = _namespace(NB03, WRONG_PROPAGATE)
    with pytest.raises(CheckFailure) as failure:
        checks.visible("propagate", namespace["propagate"])
    lines = str(failure.value).splitlines()
    assert lines[0].startswith('propagate (visible example 1): grads["dw"] is about m = 3 times too large')
    assert lines[1].strip().startswith('expected grads["dw"]: [[0.25071532], [-0.06604096]]')
    assert lines[2].strip().startswith("got:") and "(shape (2, 1))" in lines[2]
    assert lines[3].strip().startswith("difference:") and "2 of 2 values differ" in lines[3] and "[0, 0]" in lines[3]


def test_a_visible_example_of_labels_says_which_are_wrong():
    checks = checks_for(NB03)
    namespace = _namespace(NB03, "def predict(w, b, X):\n    return np.ones((1, X.shape[1]))\n")
    with pytest.raises(CheckFailure, match=r"every label is 1") as failure:
        checks.visible("predict", namespace["predict"])
    assert "column 2" in str(failure.value) and "expected Y_prediction: [[1.0, 1.0, 0.0]]" in str(failure.value)


# -- hidden tests: the kind of difference, never the expected values -------------------------------------
def _expected_numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _expected_numbers(v)]
    if isinstance(value, tuple | list):
        return [x for v in value for x in _expected_numbers(v)]
    return [float(x) for x in np.ravel(value)]


@pytest.mark.parametrize("source", [
    WRONG_PROPAGATE,
    WRONG_PROPAGATE.replace("(A - Y).T)", "(A - Y).T) / m").replace("float(cost)", "float(cost) + 0.1"),
    WRONG_PROPAGATE.replace("(A - Y).T)", "(A - Y).T) / m + 0.01"),
])
def test_a_hidden_test_never_shows_an_expected_value(source):
    checks = checks_for(NB03)
    fn = _namespace(NB03, source)["propagate"]
    for seed in range(5):
        cases = checks.fresh_cases("propagate", seed=seed)
        verdict = judge_returns(NB03, "propagate", cases, record_returns(cases, fn), "hidden test")
        assert not verdict.passed
        assert "expected" not in verdict.message.replace("than expected", "")
        shown = {float(n) for n in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", verdict.message)}
        for number in (x for case in cases for x in _expected_numbers(case.expected)):
            assert not any(math.isclose(number, x, rel_tol=1e-3) for x in shown if abs(x) > 1e-3), verdict.message


def test_a_hidden_number_says_only_which_way_it_is_off():
    with pytest.raises(CheckFailure, match=r"^cost is wrong: it is larger than expected$"):
        compare(0.5, 0.6, Expect("cost"))


# -- dependency-aware visible tests --------------------------------------------------------------------
def test_a_wrong_callee_is_named_instead_of_the_function_tested():
    checks = checks_for(NB03)
    namespace = _namespace(NB03, WRONG_PROPAGATE)
    with pytest.raises(CheckFailure, match=r"^optimize: fix propagate above first: its test fails \(propagate"):
        checks.visible("optimize", namespace["optimize"])
    with pytest.raises(CheckFailure, match=r"^model: fix propagate above first.*through optimize"):
        checks.visible("model", namespace["model"])


def test_a_wrong_callee_deeper_down_is_the_one_named():
    checks = checks_for(NB03)
    namespace = _namespace(NB03, "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n")
    with pytest.raises(CheckFailure, match=r"^optimize: fix sigmoid above first.*through propagate"):
        checks.visible("optimize", namespace["optimize"])


def test_a_callee_the_function_does_not_use_is_not_blamed():
    """An optimize that computes its gradients itself is judged on its own, whatever propagate does."""
    own = '''
def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    w, costs = w.copy(), []
    m = X.shape[1]
    for i in range(num_iterations):
        A = 1 / (1 + np.exp(-(np.dot(w.T, X) + b)))
        cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
        dw, db = np.dot(X, (A - Y).T) / m, np.sum(A - Y) / m
        w, b = w - learning_rate * dw, b - learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, {"dw": dw, "db": db}, costs
'''
    checks = checks_for(NB03)
    checks.visible("optimize", _namespace(NB03, WRONG_PROPAGATE, own)["optimize"])


def test_a_callee_used_through_a_helper_function_is_checked_first():
    helper = '''
def step(w, b, X, Y, rate):
    grads, cost = propagate(w, b, X, Y)
    return w - rate * grads["dw"], b - rate * grads["db"], grads, cost

def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    costs = []
    for i in range(num_iterations):
        w, b, grads, cost = step(w, b, X, Y, learning_rate)
        if i % 100 == 0:
            costs.append(cost)
    return {"w": w, "b": b}, grads, costs
'''
    with pytest.raises(CheckFailure, match="fix propagate above first"):
        checks_for(NB03).visible("optimize", _namespace(NB03, WRONG_PROPAGATE, helper)["optimize"])


def test_a_callee_that_is_not_defined_is_named():
    namespace = _namespace(NB03)
    del namespace["propagate"]
    with pytest.raises(CheckFailure, match="propagate is not defined: run the cell that defines it"):
        checks_for(NB03).visible("optimize", namespace["optimize"])


def test_the_declared_callees_are_those_the_grader_replaces_by_the_reference():
    from autograder.course import NOTEBOOK_NAMES
    from autograder.verify import reference_dependencies

    for notebook in NOTEBOOK_NAMES:
        checks = checks_for(notebook)
        for name in checks.functions:
            assert set(checks.callees(name)) == set(reference_dependencies(notebook, name, set(checks.functions))), \
                f"{notebook}: {name}'s FunctionCheck.calls disagree with what its reference calls"


# -- inputs, errors and precision -------------------------------------------------------------------------
def test_optimize_must_leave_its_inputs_alone_and_an_in_place_update_on_a_copy_is_fine():
    checks = checks_for(NB03)
    clobbers = _namespace(NB03, reference_code(NB03).functions["optimize"].replace(
        "w = copy.deepcopy(w)", "").replace("w = w - learning_rate * dw", "w -= learning_rate * dw"))
    with pytest.raises(CheckFailure, match="changed its input w in place"):
        checks.visible("optimize", clobbers["optimize"])
    cases = checks.fresh_cases("optimize", seed=1)
    assert all(case.keep_inputs for case in decode_inputs(encode_inputs(cases)))  # the kernel knows it too
    returned = record_returns(cases, clobbers["optimize"])
    assert returned[0]["error"].startswith("InputChanged: it changed its input w in place")
    copies = _namespace(NB03, reference_code(NB03).functions["optimize"].replace(
        "w = copy.deepcopy(w)", "w = w.copy()").replace("w = w - learning_rate * dw", "w -= learning_rate * dw"))
    checks.visible("optimize", copies["optimize"])
    assert judge_returns(NB03, "optimize", cases, record_returns(cases, copies["optimize"]), "hidden test").passed


def test_integer_zeros_are_named_at_initialize_where_they_are_written_not_in_model_where_they_break():
    """Integer zeros look right, but with an optimize that updates a copy in place (which is fine) the learner's
    model stops with a casting error: the first test to fail must be initialize_with_zeros's, saying why."""
    learner = _namespace(NB03, """
def initialize_with_zeros(dim):
    return np.zeros((dim, 1), dtype=int), 0
""", reference_code(NB03).functions["optimize"].replace("w = copy.deepcopy(w)", "w = w.copy()").replace(
        "w = w - learning_rate * dw", "w -= learning_rate * dw"))
    checks = checks_for(NB03)
    with pytest.raises(CheckFailure, match="must hold floats"):
        checks.visible("initialize_with_zeros", learner["initialize_with_zeros"])
    w, b = learner["initialize_with_zeros"](2)
    with pytest.raises(TypeError, match="[Cc]annot cast"):  # what the learner would otherwise meet, in optimize
        learner["optimize"](w, b, np.ones((2, 3)), np.array([[1, 0, 1]]), num_iterations=1)
    checks.visible("optimize", learner["optimize"])  # optimize itself is right
    for floats in ("np.zeros((dim, 1)), 0", "np.zeros((dim, 1), dtype=np.float32), 0.0"):
        checks.visible("initialize_with_zeros", _namespace(NB03, f"""
def initialize_with_zeros(dim):
    return {floats}
""")["initialize_with_zeros"])


def test_hidden_weights_are_floats():
    checks = checks_for(NB03)
    for seed in range(20):
        for name in ("propagate", "optimize", "predict"):
            for case in checks.fresh_cases(name, seed=seed):
                assert case.args[0].dtype.kind == "f", f"{name}: integer weights in a hidden case"


@pytest.mark.parametrize(("code", "hint"), [
    ("np.ones((3, 4)) / np.ones(3)", "keepdims=True"),
    ("np.dot(np.ones((3, 4)), np.ones((1, 4)))", "transpose (.T)"),
    ("np.ones((1, 3)) * np.ones((3, 5))", "np.dot"),
    ("np.ones(60).reshape(18, 1)", "fixed number"),
    ("math.exp(np.ones(3))", "np.exp"),
    ("np.zeros(3, 1)", "one tuple"),
    ("exec('x = np.arange(3)\\nx /= 2')", "in-place update"),
    ("list(range(2.5))", "wrong order"),
])
def test_common_errors_get_a_hint(code, hint):
    with pytest.raises(Exception) as error:  # noqa: PT011  (the error itself is the subject)
        eval(code, {"np": np, "math": math})
    assert hint in describe_error(error.value)
    assert hint in (error_hint(type(error.value).__name__, str(error.value)) or "")


def test_an_error_names_the_learners_functions_it_went_through():
    namespace = _namespace(NB03, "def propagate(w, b, X, Y):\n    return np.dot(w, X)\n")
    with pytest.raises(ValueError) as error:  # noqa: PT011
        namespace["optimize"](np.zeros((2, 1)), 0.0, np.ones((2, 3)), np.ones((1, 3)))
    # optimize is the reference's here: only the learner's propagate is named
    assert "(in propagate" in describe_error(error.value) and "called by optimize" not in describe_error(error.value)
    learner = _namespace(NB03, "def propagate(w, b, X, Y):\n    return np.dot(w, X)\n",
                         reference_code(NB03).functions["optimize"])
    with pytest.raises(ValueError) as error:  # noqa: PT011
        learner["optimize"](np.zeros((2, 1)), 0.0, np.ones((2, 3)), np.ones((1, 3)))
    assert "(in propagate, called by optimize" in describe_error(error.value)


def test_single_precision_is_judged_with_single_precision_tolerance():
    expected = np.array([[0.123456], [1.5]])
    close32 = (expected * (1 + 5e-5)).astype(np.float32)
    compare(expected, close32, Expect("dw"))
    compare(0.25, np.float32(0.25 * (1 + 5e-5)), Expect("cost"))
    with pytest.raises(CheckFailure):
        compare(expected, expected * (1 + 5e-5), Expect("dw"))  # in double precision that is too far
    with pytest.raises(CheckFailure):
        compare(expected, (expected * 1.01).astype(np.float32), Expect("dw"))


def test_a_case_without_keep_inputs_still_gets_copies():
    x = np.array([1.0, 2.0])
    Case((x,)).call(lambda values: values.__imul__(0))
    assert x.tolist() == [1.0, 2.0]


def test_a_check_failure_renders_as_its_message():
    lines = CheckFailure("sigmoid (visible example 1): wrong\n    expected ...")._render_traceback_()
    assert ANSI.sub("", lines[0]) == "CheckFailure: sigmoid (visible example 1): wrong" and len(lines) == 2


def test_normalize_rows_without_keepdims_gets_a_hint_on_every_kind_of_hidden_case():
    checks = checks_for(NB01)
    fn = _namespace(NB01, "def normalize_rows(x):\n    return x / np.linalg.norm(x, axis=1)\n")["normalize_rows"]
    for seed in range(10):
        cases = checks.fresh_cases("normalize_rows", seed=seed)
        for number, (case, got) in enumerate(zip(cases, record_returns(cases, fn), strict=True)):
            verdict = judge_returns(NB01, "normalize_rows", [case], [got], "hidden test")
            assert not verdict.passed and "keepdims=True" in verdict.message, (number, verdict.message)
