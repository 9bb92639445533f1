"""The results format (:mod:`autograder.results`): one typed record per student, the only place its keys
are spelled, and a faithful round trip through the JSON the gradebook stores."""

from __future__ import annotations

import json

import pytest

from autograder.results import (
    CellRun,
    CellStatus,
    Curve,
    FunctionResult,
    NotebookResult,
    Status,
    SubmissionRecord,
)


def _function(passed=True, tampering=False, in_kernel="passed"):
    return FunctionResult(passed, "passed" if passed else "wrong", 3.0, 3.0 if passed else 0.0, in_kernel,
                          passed, tampering, 0.25)


def _record(**notebooks) -> SubmissionRecord:
    return SubmissionRecord.from_notebooks("ada", "logistic_regression", "v1", notebooks, [], 12.345, True)


def test_a_record_survives_the_gradebooks_json_whole():
    notebook = NotebookResult(functions={"propagate": _function(False)},
                              cells={"test_propagate": CellRun(CellStatus.ERROR, 0.5)}, stopped=None,
                              seeds={"propagate": 2**62}, notes=["cell x: restored its points setting"],
                              edited_tests=True, curve=Curve("model", "a small case", 100, [0.69, 0.5], [0.7, 0.6]))
    record = _record(**{"03": notebook})
    record.revision = "abc"
    back = SubmissionRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert back == record
    assert isinstance(back.status, Status) and isinstance(back.notebooks["03"].cells["test_propagate"].status,
                                                          CellStatus)


def test_the_stored_json_reads_as_words():
    data = _record(**{"01": NotebookResult(functions={"sigmoid": _function()})}).to_dict()
    assert data["status"] == "graded" and data["seconds"] == 12.35
    assert json.loads(json.dumps(data))["notebooks"]["01"]["functions"]["sigmoid"]["passed"] is True


@pytest.mark.parametrize(("notebooks", "status"), [
    ({"01": NotebookResult(functions={"f": _function()})}, Status.GRADED),
    ({"01": NotebookResult(stopped="a cell ran out of time")}, Status.PROBLEMS),
    ({"01": NotebookResult(notes=["cell test_f: missing from the notebook"])}, Status.PROBLEMS),
    ({"01": NotebookResult(edited_tests=True)}, Status.TAMPERING),
    ({"01": NotebookResult(), "03": NotebookResult(functions={"f": _function(False, tampering=True)})},
     Status.TAMPERING),
])
def test_the_status_follows_from_what_the_notebooks_found(notebooks, status):
    assert _record(**notebooks).status is status


def test_the_reason_names_each_notebooks_problems():
    record = _record(**{"01": NotebookResult(stopped="the kernel died"), "03": NotebookResult(notes=["x restored"])})
    assert record.reason == "01: the kernel died; 03: x restored"


def test_an_unknown_status_in_stored_json_is_refused():
    data = _record().to_dict()
    data["status"] = "passed with flying colours"
    with pytest.raises(ValueError):
        SubmissionRecord.from_dict(data)


@pytest.mark.parametrize(("status", "ran"), [(CellStatus.OK, True), (CellStatus.ERROR, True),
                                             (CellStatus.OUT_OF_MEMORY, True), (CellStatus.TIMEOUT, False),
                                             (CellStatus.KERNEL_DIED, False), (CellStatus.NOT_RUN, False)])
def test_whether_a_test_cell_ran(status, ran):
    assert status.ran is ran
    assert _function(in_kernel=status.value).ran is ran


def test_a_record_stored_by_an_older_version_with_its_picture_still_loads():
    """Older versions stored the feedback picture ("plots") in each notebook's result; the report draws it now."""
    data = _record(**{"03": NotebookResult(functions={"model": _function()},
                                           curve=Curve("model", "a small case", 100, [0.69, 0.5], [0.7, 0.6]))}
                   ).to_dict()
    data["notebooks"]["03"]["plots"] = "iVBORw0KGgo="
    data["error"] = "Traceback (most recent call last): ..."  # where older versions kept a grader error's log
    back = SubmissionRecord.from_dict(json.loads(json.dumps(data)))
    assert back.notebooks["03"].curve == Curve("model", "a small case", 100, [0.69, 0.5], [0.7, 0.6])
    assert back.notebooks["03"].functions["model"] == _function()
    assert "plots" not in back.to_dict()["notebooks"]["03"]
    assert back.log == "Traceback (most recent call last): ..." and "error" not in back.to_dict()
