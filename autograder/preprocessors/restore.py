"""RestoreGradedCells: the sanitize phase's step that puts back the nbgrader flags a learner changed."""

from __future__ import annotations

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from .cells import finite_points, grading_notes, released_source


class RestoreGradedCells(NbGraderPreprocessor):
    """Put back the nbgrader flags (grade, solution, locked, points) of every known cell.

    A learner who unticks "graded" on a test cell, or marks it as a solution, would otherwise leave that
    test unscored. Test cells whose source was edited are noted: OverwriteCells restores their source.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        record = grading_notes(nb)
        notes = record["notes"]
        with Gradebook(info["db_url"]) as gb:
            try:
                notebook = gb.find_notebook(info["notebook"], info["assignment"])
            except MissingEntry:
                return nb, resources
            points = {cell.name: cell.max_score for cell in notebook.grade_cells}
            solutions = {cell.name for cell in notebook.solution_cells}
            sources = {cell.name: cell for cell in notebook.source_cells}
            present = set()
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader")
                name = meta.get("grade_id") if meta else None
                if meta is not None and name not in sources:
                    # an id the assignment does not know (a renamed cell, or one copied in): an ordinary cell
                    del cell.metadata["nbgrader"]
                    if meta.get("grade") or meta.get("solution") or meta.get("locked"):
                        record["edited_tests"] = True
                        notes.append(f"cell {name or '(no id)'}: not part of the assignment; run as an ordinary cell")
                    continue
                if name is None:
                    continue
                present.add(name)
                wanted = {"grade": name in points, "solution": name in solutions, "locked": sources[name].locked}
                changed = [key for key, value in wanted.items() if bool(meta.get(key)) != value]
                if name in points and finite_points(meta.get("points")) != float(points[name]):
                    changed.append("points")  # also a value that is not a number at all, such as "many"
                if changed:
                    notes.append(f"cell {name}: restored its {', '.join(changed)} setting")
                    record["edited_tests"] = True
                meta.update(wanted)
                if name in points:
                    meta["points"] = points[name]
                if name in points and sources[name].locked and released_source(cell.source) != released_source(
                        sources[name].source):
                    notes.append(f"cell {name}: the test cell was edited; the original was restored")
                    record["edited_tests"] = True
            for name in sorted(set(points) - present):
                notes.append(f"cell {name}: missing from the notebook (deleted or renamed); the original was put back")
        return nb, resources
