"""Do the summary and the feedback page tell the whole story, and agree with the gradebook?"""

import base64

import pytest

from autograder.report import curve_png, feedback_html, summary
from autograder.results import Curve, FunctionResult, NotebookResult, Status, SubmissionRecord

NB03 = "03_logistic_regression_with_a_neural_network_mindset"
LONG = ("03_logistic_regression_with_a_neural_network_mindset.ipynb could not be graded, so it scores 0: the file "
        "is not valid notebook JSON (Unterminated string starting at: line 151, column 5), ends-the-reason")
PNG = b"\x89PNG\r\n\x1a\n"


def _record(**functions: FunctionResult) -> SubmissionRecord:
    return SubmissionRecord("ada", "logistic_regression", Status.PROBLEMS, f"{LONG}; second note", "v1", 1.0, True,
                            notebooks={NB03: NotebookResult(functions=functions)})


def test_the_summary_wraps_long_reasons_instead_of_cutting_them():
    text = summary({"ada": _record()}, {"ada": {"total": 0.0, "max": 25.0, "cells": {}}})
    assert "ends-the-reason" in text and "second note" in text
    assert max(len(line) for line in text.splitlines()) <= 145


def test_the_feedback_rows_add_up_to_the_total_with_manual_grades():
    result = FunctionResult(passed=False, message="dw is wrong", points=3.0, score=0.0, in_kernel="failed",
                            verified=False)
    page = feedback_html(_record(propagate=result), {"total": 2.0, "max": 25.0, "cells": {"03:propagate": 2.0}})
    assert "<b>2 / 25</b>" in page and "2 / 3 (manual grade)" in page


def test_the_feedback_notes_are_a_list():
    page = feedback_html(_record(), {"total": 0.0, "max": 25.0, "cells": {}})
    assert page.count("<li>") == 2 and "ends-the-reason" in page


def test_a_curve_of_a_model_the_notebook_never_ran_says_so():
    record = _record(model=FunctionResult(passed=False, message="this cell was not run", points=2.0, score=0.0,
                                          in_kernel="not run", verified=True))
    record.notebooks[NB03].curve = Curve("model", "a small case", 100, [0.69, 0.5, 0.4], [0.69, 0.55, 0.45])
    page = feedback_html(record, {"total": 0.0, "max": 25.0, "cells": {"03:model": 0.0}})
    assert "your notebook stopped before it ran" in page and "produced on" not in page
    assert "data:image/png;base64," in page


def test_the_feedback_page_draws_the_cost_curve_from_the_numbers():
    record = _record(model=FunctionResult(passed=True, message="passed", points=2.0, score=2.0, in_kernel="passed",
                                          verified=True))
    record.notebooks[NB03].curve = Curve("model", "a small case", 100, [0.69, 0.5, 0.4], [0.69, 0.5, 0.4])
    page = feedback_html(record, {"total": 2.0, "max": 25.0, "cells": {"03:model": 2.0}})
    assert "produced on a small case" in page
    picture = page.split("data:image/png;base64,", 1)[1].split("'", 1)[0]
    assert base64.b64decode(picture).startswith(PNG)
    record.notebooks[NB03].curve = Curve("model", "a small case", 100, [0.69, 0.5], None, "NotImplementedError")
    page = feedback_html(record, {"total": 2.0, "max": 25.0, "cells": {"03:model": 2.0}})
    assert "data:image/png" not in page and "No cost curve: NotImplementedError." in page


def test_curve_png_draws_a_drawable_curve():
    picture = curve_png(Curve("model", "a small case", 100, [0.69, 0.4], [0.69, 0.4]))
    assert picture is not None and base64.b64decode(picture).startswith(PNG)


@pytest.mark.parametrize("curve", [None, Curve("model", "a small case", 100, [0.69, 0.4], None, "it raised"),
                                   Curve("model", "a small case", 100, [0.69, 0.4], []),
                                   Curve("model", "a small case", 100, [], [0.69, 0.4])])
def test_curve_png_has_no_picture_when_there_is_nothing_to_draw(curve):
    assert curve_png(curve) is None


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # matplotlib's, on the way to None
@pytest.mark.parametrize("wild", [[1.7e308, 0.1], [float("inf"), float("nan")], [-1e300, 1e300]])
def test_curve_png_never_raises_on_wild_costs(wild):
    # wild costs of the learner's are left out of the picture (the reference's curve is drawn alone)
    picture = curve_png(Curve("model", "a small case", 100, [0.69, 0.4], wild))
    assert picture is None or base64.b64decode(picture).startswith(PNG)
    # costs matplotlib cannot draw at all give no picture, never an error
    assert curve_png(Curve("model", "a small case", 100, [1.7e308, 0.1], [0.69, 0.4])) is None
