"""The course's settings for nbgrader: where the assignment's source is, and the course's preprocessors.

:func:`nbgrader_config` is the one definition of how nbgrader runs for this course: the grading workers
(:mod:`autograder.worker`), registering the assignment (:mod:`autograder.grading`) and nbgrader's own
commands in the course folder (:mod:`autograder.nbgrader_apps`, called by the root
``nbgrader_config.py``) all start from it. The limits of one grading run (time, memory, sandbox) are
traits of the course's preprocessors, with their defaults and help in one place
(:class:`autograder.preprocessors.SandboxedExecute`); :func:`grading_limits` reads them for
``course grade`` and :func:`autograder.batch.grade_batch`, so ``--help`` shows the same defaults.
A run's own values are nbgrader configuration too (:func:`run_config`): each grading process reads
them from its workspace's ``nbgrader_config.json``, as an nbgrader command run there would.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

from traitlets.config import Config

from .course import ASSIGNMENT, SOLUTIONS

COURSE_ID = "logistic_regression_course"
RUN_CONFIG = "nbgrader_config.json"  # a grading workspace's settings of the run, in nbgrader's own format


def nbgrader_config(root: Path, db_url: str, **course_directory):
    """The nbgrader configuration of the course for a folder ``root`` (source: the solutions)."""
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


def run_config(*, timeout: float, cell_timeout: int, memory_mb: int, sandboxed: bool, due_date: str = "",
               extended_due_dates: dict[str, str] | None = None, late_penalty: str = "none") -> Config:
    """The settings of one grading run, as the traits of the course's preprocessors (and nbgrader's late
    submission plugin) that define them."""
    c = Config()
    c.SandboxedExecute.notebook_timeout = timeout
    c.SandboxedExecute.timeout = cell_timeout
    c.SandboxedExecute.memory_mb = memory_mb
    c.SandboxedExecute.sandboxed = sandboxed
    c.VerifyFunctions.sandboxed = sandboxed
    c.CourseLatePenalties.due_date = due_date
    c.CourseLatePenalties.extended_due_dates = dict(extended_due_dates or {})
    c.LateSubmissionPlugin.penalty_method = late_penalty
    return c


def is_sandboxed(config: Config) -> bool:
    """Whether a run's configuration grades in the OS sandbox (the trait's default when it does not say)."""
    return bool(config.SandboxedExecute.get("sandboxed", True))


def write_run_config(workspace: Path, config: Config) -> None:
    """Give a grading workspace the run's settings (read by :func:`read_run_config` in the grading process)."""
    (workspace / RUN_CONFIG).write_text(json.dumps(config, indent=1))


def read_run_config(workspace: Path) -> Config:
    """The run's settings a grading workspace holds; a clear error when it holds none."""
    from traitlets.config.loader import JSONFileConfigLoader

    if not (workspace / RUN_CONFIG).is_file():
        raise FileNotFoundError(f"the grading workspace {workspace} has no {RUN_CONFIG} (the run's settings)")
    return JSONFileConfigLoader(RUN_CONFIG, path=str(workspace)).load_config()


# -- the checksum warning on hidden-test cells -----------------------------------------------------
class HiddenTestChecksums(logging.Filter):
    """Drops nbgrader's "Attribute 'checksum' for cell test_<function> has changed!" for test cells with hidden tests.

    Upstream nbgrader behaviour, not a learner's doing: nbgrader releases a test cell without its hidden
    tests, then compares the submitted cell's checksum with the source cell's, which has them, so the two
    never match and OverwriteCells warns on every hidden-test cell of every submission. It puts the
    source back either way. A test cell a learner really edited is still found and recorded in the
    learner's result, by RestoreGradedCells (:mod:`autograder.preprocessors.restore`), which compares the released text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (isinstance(args, tuple) and len(args) == 4 and args[0] == "checksum"
                    and str(record.msg).startswith("Attribute '%s' for cell %s has changed!")
                    and args[1] in hidden_test_cells())


@functools.cache
def hidden_test_cells() -> frozenset[str]:
    """The nbgrader ids of the source notebooks' test cells that hold hidden tests."""
    ids = set()
    for path in sorted((SOLUTIONS / ASSIGNMENT).glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell.get("source", ""))
            if "BEGIN HIDDEN TESTS" in source:
                ids.add(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
    return frozenset(ids - {None})


_CHECKSUM_FILTER = HiddenTestChecksums()


def silence_hidden_test_checksums(*loggers: logging.Logger) -> None:
    """Install :class:`HiddenTestChecksums` where nbgrader's preprocessors log, and on ``loggers``.

    A preprocessor logs through its converter's application (the running nbgrader app), or through
    traitlets' logger when there is none (a converter made in code, as the grading workers do).
    """
    from traitlets.config import Application

    targets = [logging.getLogger("traitlets"), *loggers]
    if Application.initialized():
        log = Application.instance().log
        targets.append(getattr(log, "logger", log))  # a LoggerAdapter filters through its logger
    for logger in targets:
        if _CHECKSUM_FILTER not in logger.filters:
            logger.addFilter(_CHECKSUM_FILTER)
