"""Is each graded function judged on its own, outside the learner's kernel, and kept in its sandbox?"""

import nbformat
import pytest

from autograder.course import ASSIGNMENT, SOLUTIONS
from autograder.reference import reference_code
from autograder.submissions import edited_reference, filled
from autograder.verify import verify_notebook

NB03 = "03_logistic_regression_with_a_neural_network_mindset"


def _answer(name: str, old: str, new: str) -> str:
    return edited_reference(NB03, name, old, new)


@pytest.fixture(scope="module")
def solved_verdicts():
    return verify_notebook(filled(NB03), NB03)


def test_the_reference_passes_every_function(solved_verdicts):
    assert {name: v.passed for name, v in solved_verdicts.items()} == dict.fromkeys(solved_verdicts, True)


def test_a_wrong_propagate_costs_only_propagate():
    nb = filled(NB03, {"propagate": _answer("propagate", "/ m\n    db", "\n    db")})
    verdicts = verify_notebook(nb, NB03)
    assert not verdicts["propagate"].passed
    assert "m = " in verdicts["propagate"].message and "divide by m" in verdicts["propagate"].message
    assert [n for n, v in verdicts.items() if not v.passed] == ["propagate"]


def test_a_function_moved_and_defined_twice_is_found_by_name():
    nb = filled(NB03, {"predict": "def predict(w, b, X):\n    return None\n"})
    nb.cells.append(nbformat.v4.new_code_cell(reference_code(NB03).functions["predict"]))  # the later one counts
    assert verify_notebook(nb, NB03)["predict"].passed


def test_reading_the_solutions_from_disk_fails():
    path = SOLUTIONS / ASSIGNMENT / f"{NB03}.ipynb"
    sneaky = f"def sigmoid(z):\n    text = open({str(path)!r}).read()\n    return 1 / (1 + np.exp(-z))\n"
    verdict = verify_notebook(filled(NB03, {"sigmoid": sneaky}), NB03)["sigmoid"]
    assert not verdict.passed and "not allowed while grading: reading" in verdict.message


def test_writing_files_and_starting_processes_fail():
    writes = "def sigmoid(z):\n    open('/tmp/escaped.txt', 'w').write('x')\n    return 1 / (1 + np.exp(-z))\n"
    spawns = ("def predict(w, b, X):\n    import os\n    os.system('true')\n"
              "    return (1 / (1 + np.exp(-(w.T @ X + b))) > 0.5).astype(float)\n")
    verdicts = verify_notebook(filled(NB03, {"sigmoid": writes, "predict": spawns}), NB03)
    assert "not allowed while grading" in verdicts["sigmoid"].message
    assert "not allowed while grading" in verdicts["predict"].message


def test_patching_numpy_comparisons_in_the_function_gains_nothing():
    cheat = ("def propagate(w, b, X, Y):\n    np.allclose = lambda *a, **k: True\n"
             "    np.testing.assert_allclose = lambda *a, **k: None\n"
             "    return {'dw': np.zeros_like(w), 'db': 0.0}, 0.0\n")
    assert not verify_notebook(filled(NB03, {"propagate": cheat}), NB03)["propagate"].passed


def test_a_comparison_lying_ndarray_subclass_gains_nothing():
    cheat = ("class Liar(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
             "    def __array_finalize__(self, obj):\n        pass\n\n"
             "def predict(w, b, X):\n    return np.zeros((1, X.shape[1])).view(Liar)\n")
    verdict = verify_notebook(filled(NB03, {"predict": cheat}), NB03)["predict"]
    assert not verdict.passed and "plain numpy array" in verdict.message


def test_an_endless_loop_is_stopped_and_reported(monkeypatch):
    import autograder.verify as verify

    monkeypatch.setattr(verify, "VERIFY_TIMEOUT", 5.0)
    loop = "def initialize_with_zeros(dim):\n    while True:\n        pass\n"
    verdict = verify_notebook(filled(NB03, {"initialize_with_zeros": loop}), NB03)["initialize_with_zeros"]
    assert not verdict.passed and "did not finish" in verdict.message


def test_a_value_the_comparison_cannot_handle_fails_the_function_not_the_grader():
    huge = _answer("propagate", "cost = np.squeeze(np.array(cost))", "cost = 10**400")
    verdict = verify_notebook(filled(NB03, {"propagate": huge}), NB03)["propagate"]
    assert not verdict.passed and "cannot be compared" in verdict.message


def test_a_learners_endless_error_message_is_cut():
    loud = "def sigmoid(z):\n    raise ValueError('E' * 10**6)\n"
    verdict = verify_notebook(filled(NB03, {"sigmoid": loud}), NB03)["sigmoid"]
    assert not verdict.passed and len(verdict.message) <= 600
