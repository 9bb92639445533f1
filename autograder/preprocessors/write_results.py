"""WriteResults: write what the course's steps found beside the autograded notebook."""

from __future__ import annotations

import json
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from ..results import Curve, NotebookResult
from .cells import findings


class WriteResults(NbGraderPreprocessor):
    """Write what the course's steps found next to the autograded notebook (``<notebook>.results.json``)."""

    def preprocess(self, nb, resources):
        found = findings(resources)
        notes = nb.metadata.get("course_grading", {})  # what RestoreGradedCells noted, in the sanitize phase
        # no picture: the feedback page draws the curve from its numbers (report.curve_png)
        result = NotebookResult(functions=found.get("functions") or {}, cells=found.get("cells") or {},
                                stopped=found.get("stopped"), seeds=found.get("seeds") or {},
                                notes=list(notes.get("notes", [])), edited_tests=bool(notes.get("edited_tests")),
                                curve=Curve.from_dict(found.get("curve")))
        path = Path(resources["metadata"]["path"]) / f"{resources['nbgrader']['notebook']}.results.json"
        path.write_text(json.dumps(result.to_dict(), indent=1))  # JSON: the batch reads it back in another process
        return nb, resources
