"""grades.csv, the course's export: points per graded function, total, status and reason, per student.

``course export`` and ``nbgrader export`` write it with the same function, :func:`write_grades`, so the
two files are the same byte for byte. In the course folder ``nbgrader export`` uses
:class:`GradesCsvExporter` by default (``nbgrader_config.py``); elsewhere name it::

    nbgrader export --exporter=autograder.exporter.GradesCsvExporter [--to FILE] [--student "['ada']"]

Everything comes from the gradebook (nbgrader's scores, manual grades included, and the course's
records), never from files beside the graded notebooks.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from nbgrader.plugins import ExportPlugin

from . import report
from .course import ASSIGNMENT
from .store import Store

CSV_NAME = "grades.csv"  # in the course folder, unless another file is asked for


def write_grades(db_url: str, autograded: Path, path: Path,
                 students: Collection[str] | None = None) -> tuple[Path, int]:
    """Write the course's CSV of the gradebook at ``db_url`` to ``path``; return it and how many students it holds.

    ``students`` limits the rows to those ids (all graded students by default).
    """
    store = Store(db_url, autograded)
    try:
        records, scores = store.records(), store.scores()
    finally:
        store.close()
    if students:
        wanted = set(students)
        records = {s: r for s, r in records.items() if s in wanted}
        scores = {s: r for s, r in scores.items() if s in wanted}
    return report.export_csv(records, scores, Path(path)), len(scores)


class GradesCsvExporter(ExportPlugin):
    """nbgrader's ExportPlugin for the course's grades.csv (see the module's doc).

    ``--to`` names the file (default: ``grades.csv`` in the course folder, as ``course export``);
    ``--student`` limits the rows. The course has one assignment: ``--assignment`` naming only others
    exports no rows.
    """

    def export(self, gradebook) -> None:
        coursedir = getattr(self.parent, "coursedir", None)
        root = Path(coursedir.root) if coursedir is not None else Path.cwd()
        autograded = root / (coursedir.autograded_directory if coursedir is not None else "autograded")
        path = Path(self.to) if self.to else root / CSV_NAME
        students = [str(s) for s in self.student]
        if self.assignment and ASSIGNMENT not in [str(a) for a in self.assignment]:
            self.log.warning("This course has one assignment, %s: no rows exported", ASSIGNMENT)
            students = ["\0none"]
        db_url = coursedir.db_url if coursedir is not None else gradebook.engine.url.render_as_string(False)
        written, count = write_grades(db_url, autograded, path, students)
        self.log.info("Wrote %s (%d student(s)): points per function, total, status and reason", written, count)
