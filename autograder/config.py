"""The course's settings for nbgrader: where the assignment's source is, and the course's preprocessors.

:func:`nbgrader_config` is the one definition of how nbgrader runs for this course: the grading workers
(:mod:`autograder.worker`), registering the assignment (:mod:`autograder.grading`) and nbgrader's own
commands in the course folder (:mod:`autograder.nbgrader_apps`, called by the root
``nbgrader_config.py``) all start from it. The limits of one grading run (time, memory, sandbox) are
traits of the course's preprocessors, with their defaults and help in one place
(:class:`autograder.preprocessors.SandboxedExecute`); :func:`grading_limits` reads them for
``course grade`` and :func:`autograder.batch.grade_batch`, so ``--help`` shows the same defaults.
"""

from __future__ import annotations

from pathlib import Path

from .course import SOLUTIONS

COURSE_ID = "logistic_regression_course"


def nbgrader_config(root: Path, db_url: str, **course_directory):
    """The nbgrader configuration of the course for a folder ``root`` (source: the solutions)."""
    from traitlets.config import Config

    from .preprocessors import AUTOGRADE, SANITIZE

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = str(SOLUTIONS)
    c.CourseDirectory.db_url = db_url
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.results.json"]
    for key, value in course_directory.items():
        setattr(c.CourseDirectory, key, value)
    c.Autograde.sanitize_preprocessors = SANITIZE
    c.Autograde.autograde_preprocessors = AUTOGRADE
    c.Autograde.create_student = True
    c.OverwriteCells.add_missing_cells = True
    c.ClearMetadataPreprocessor.enabled = True
    c.ClearMetadataPreprocessor.clear_notebook_metadata = False
    c.ClearMetadataPreprocessor.preserve_cell_metadata_mask = [("nbgrader",)]
    return c


def grading_limits() -> dict[str, float | int]:
    """The default limits of one grading run, read from the traits that define them (with their help).

    Keys as :func:`autograder.batch.grade_batch` takes them: ``timeout`` (seconds for all cells of one
    notebook), ``cell_timeout`` (seconds per cell) and ``memory_mb`` (resident memory of a kernel).
    """
    from .preprocessors import SandboxedExecute

    traits = SandboxedExecute.class_traits()
    return {"timeout": traits["notebook_timeout"].default_value, "cell_timeout": traits["timeout"].default_value,
            "memory_mb": traits["memory_mb"].default_value}
