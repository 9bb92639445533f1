"""CourseLatePenalties: nbgrader's late penalties, with the due date the run was given."""

from __future__ import annotations

from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import parse_utc
from traitlets import Dict, Unicode


class CourseLatePenalties(AssignLatePenalties):
    """nbgrader's AssignLatePenalties, after giving the assignment the run's due date.

    A grading process scores into a gradebook of its own (a copy made for the submission), which knows
    no due date: ``due_date`` carries the course's (``course grade --due``, or the one set in formgrader), and
    ``extended_due_dates`` a student's own where formgrader gave them an extension.
    How late work is penalised is nbgrader's ``LateSubmissionPlugin.penalty_method`` ("none" by default:
    late work is marked late and keeps its points; "zero": it scores nothing).
    """

    due_date = Unicode("", help="When the assignment was due (ISO 8601, UTC unless it names a zone); a submission "
                                "timestamped later gets the late penalty. Empty: no due date").tag(config=True)
    extended_due_dates = Dict(Unicode(), help="Student id -> that student's due date with their extension (ISO "
                                              "8601), instead of due_date").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        due = self.extended_due_dates.get(info["student"]) or self.due_date
        if due:  # this gradebook grades one submission: the assignment's due date is this student's
            with Gradebook(info["db_url"]) as gb:
                gb.update_or_create_assignment(info["assignment"], duedate=parse_utc(due))
        return super().preprocess(nb, resources)
