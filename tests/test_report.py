"""Do the summary and the feedback page tell the whole story, and agree with the gradebook?"""

from autograder.report import feedback_html, summary

NB03 = "03_logistic_regression_with_a_neural_network_mindset"
LONG = ("03_logistic_regression_with_a_neural_network_mindset.ipynb could not be graded, so it scores 0: the file "
        "is not valid notebook JSON (Unterminated string starting at: line 151, column 5), ends-the-reason")


def _record(**functions) -> dict:
    return {"student": "ada", "status": "graded with problems", "reason": f"{LONG}; second note",
            "notebooks": {NB03: {"functions": functions}}}


def test_the_summary_wraps_long_reasons_instead_of_cutting_them():
    text = summary({"ada": _record()}, {"ada": {"total": 0.0, "max": 25.0, "cells": {}}})
    assert "ends-the-reason" in text and "second note" in text
    assert max(len(line) for line in text.splitlines()) <= 145


def test_the_feedback_rows_add_up_to_the_total_with_manual_grades():
    result = {"passed": False, "score": 0.0, "points": 3.0, "message": "dw is wrong", "in_kernel": "failed"}
    page = feedback_html(_record(propagate=result), {"total": 2.0, "max": 25.0, "cells": {"03:propagate": 2.0}})
    assert "<b>2 / 25</b>" in page and "2 / 3 (manual grade)" in page


def test_the_feedback_notes_are_a_list():
    page = feedback_html(_record(), {"total": 0.0, "max": 25.0, "cells": {}})
    assert page.count("<li>") == 2 and "ends-the-reason" in page


def test_a_curve_of_a_model_the_notebook_never_ran_says_so():
    record = _record(model={"passed": False, "score": 0.0, "points": 2.0, "message": "this cell was not run",
                            "in_kernel": "not run"})
    record["notebooks"][NB03].update(plots="iVBORw0KGgo=", curve={"function": "model", "about": "a small case"})
    page = feedback_html(record, {"total": 0.0, "max": 25.0, "cells": {"03:model": 0.0}})
    assert "your notebook stopped before it ran" in page and "produced on" not in page
