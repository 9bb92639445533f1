"""course: release, grade and report the notebooks of *Logistic Regression with a Neural Network Mindset*.

  course release                 regenerate the student notebooks (notebooks/) from solutions/
  course grade SUBMISSIONS       autograde a folder <student>/logistic_regression/<notebook>.ipynb, or an LMS zip
  course feedback                write feedback/<student>/logistic_regression/feedback.html
  course export                  write grades.csv
  course check NOTEBOOK          grade one notebook of your own, offline, and print what passed
  course preview [OUT_DIR]       run every solution notebook and write an HTML reading copy with its figures
  course bundle [OUTPUT]         write the student bundle: notebooks, loader, dataset, visible checks (no solutions)
  course demo                    release, grade the sample submissions, feedback, export and a summary

Run ``course VERB --help`` for the options of a verb.

Exit codes of `course grade`: 0 every submission ended with a recorded result; 3 at least one ended in
"error" (the grader's fault, not the student's: see its reason); 2 nothing was graded (a setting, the
submissions, the sandbox, the Dask cluster or the gradebook is not usable: the message says which), or
the Dask scheduler was lost part way (what was graded is recorded); 130 interrupted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from . import report, sandbox
from .batch import SandboxUnavailable, grade_batch
from .cluster import ClusterUnusable
from .config import grading_limits
from .course import ASSIGNMENT, NOTEBOOKS, ROOT, SAMPLE_SUBMISSIONS, SOLUTIONS
from .database import DatabaseSetupError, check_database_url
from .grading import Course, register_assignment
from .intake import LMS_FILE_PATTERN, IntakeError
from .results import Status
from .store import StoreError

EXIT_ERRORS = 3  # some submission ended in "error"
EXIT_UNUSABLE = 2  # nothing graded: a setting, the sandbox or the gradebook cannot be used
EXIT_INTERRUPTED = 130


def release() -> Path:
    """Regenerate ``notebooks/`` from ``solutions/`` with nbgrader's generate_assignment."""
    with tempfile.TemporaryDirectory(prefix="course-release-db-") as scratch:
        register_assignment(Path(scratch), f"sqlite:///{scratch}/gradebook.db", release_dir=NOTEBOOKS)
    print(f"released {ASSIGNMENT} from {SOLUTIONS.relative_to(ROOT)}/ to {NOTEBOOKS.relative_to(ROOT)}/")
    return NOTEBOOKS / ASSIGNMENT


def grade(submissions: Path, *, course: Course, student: str | None = None, jobs: int | None = None,
          timeout: float | None = None, cell_timeout: int | None = None, memory_mb: int | None = None,
          quiet: bool = False,
          zip_pattern: str = LMS_FILE_PATTERN, sandboxed: bool = True, roster: Path | None = None,
          zip_time_format: str | None = None, scheduler: str | None = None, due: datetime | None = None,
          late_penalty: str = "none") -> int:
    """Grade ``submissions`` into the course's gradebook and print the summary."""
    if not quiet and not scheduler:  # on a cluster, the workers' sandbox is described once they are checked
        print(sandbox.describe(sandboxed), file=sys.stderr)
    outcomes = grade_batch(course, submissions, student=student, jobs=jobs, timeout=timeout,
                           cell_timeout=cell_timeout, memory_mb=memory_mb, quiet=quiet, zip_pattern=zip_pattern,
                           sandboxed=sandboxed, roster=roster, zip_time_format=zip_time_format, scheduler=scheduler,
                           due=due, late_penalty=late_penalty)
    store = course.store()
    print(report.summary(store.records(), store.scores()))
    failed = [o for o in outcomes if o.status is Status.ERROR]
    for outcome in failed:
        print(f"grading {outcome.student} failed: {outcome.reason}", file=sys.stderr)
    return EXIT_ERRORS if failed else 0


def feedback(*, course: Course) -> list[Path]:
    store = course.store()
    records, scores = store.records(), store.scores()
    written = report.write_feedback(records, scores, course.feedback)
    print(f"wrote {len(written)} feedback page(s) under {course.feedback}")
    return written


def export(*, course: Course, output: Path | None = None) -> Path:
    """Write grades.csv with the code of nbgrader's exporter (autograder.exporter): the two files are the same."""
    from .exporter import CSV_NAME, write_grades

    path, count = write_grades(course.db_url, course.autograded, output or course.root / CSV_NAME)
    print(f"wrote {path} ({count} student(s))")
    return path


def bundle(output: Path, *, zip_too: bool = False) -> int:
    """Write the student bundle: notebooks, the loader, the dataset and the visible checks; no solutions."""
    from .bundle import BundleError, describe, write_bundle

    try:
        written = write_bundle(output, zip_too=zip_too)
    except BundleError as exc:
        print(f"course bundle: {exc}", file=sys.stderr)
        return 2
    print(describe(written) + (f"; and {written}.zip" if zip_too else ""))
    return 0


def check(notebook: Path, *, timeout: float | None = None) -> int:
    """Grade one learner notebook with the grading engine, in a temporary course; print a table.

    It is the learner's own work on the learner's own machine: without bubblewrap it runs unsandboxed.
    """
    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        print(f"no such file: {notebook}", file=sys.stderr)
        return 2
    sandboxed = sandbox.unavailable() is None
    if not sandboxed:
        print(f"note: checking without the OS sandbox ({sandbox.unavailable()})", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="course-check-") as scratch:
        folder = Path(scratch) / "submissions" / "you" / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / notebook.name)
        course = Course(Path(scratch) / "course")
        grade_batch(course, Path(scratch) / "submissions", jobs=1, timeout=timeout, quiet=True, sandboxed=sandboxed)
        record = course.store().records().get("you")
    if record is None or not record.notebooks:
        print(f"{notebook.name} could not be graded: {(record.reason if record else '') or 'unknown reason'}")
        return 1
    total = points = 0.0
    for name, data in record.notebooks.items():
        print(f"{name}")
        for function, result in data.functions.items():
            mark = "PASS" if result.passed else "FAIL"
            print(f"  {mark}  {function:<24} {result.score:g}/{result.points:g}  "
                  f"{'' if result.passed else result.message}")
            total += result.score
            points += result.points
        if data.stopped:
            print(f"  note: {data.stopped}")
    print(f"total: {total:g}/{points:g}")
    return 0


def demo(*, course: Course) -> int:
    """The instructor's pipeline on the bundled sample submissions."""
    release()
    try:
        grade(SAMPLE_SUBMISSIONS, course=course)
    except SandboxUnavailable as exc:
        print(f"course demo: {exc}", file=sys.stderr)
        return 2
    feedback(course=course)
    export(course=course)
    return 0


def _at_least(smallest: float, kind: type):
    """An argparse type: a number of ``kind`` no smaller than ``smallest`` (0 or less would mean no limit)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if value < smallest:
            raise argparse.ArgumentTypeError(f"{text} is too small: give at least {smallest:g}")
        return value
    return parse


def _due_date(text: str) -> datetime:
    """An argparse type: a due date, ISO 8601, as naive UTC (nbgrader's times); UTC unless it names a zone."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date and time: write it as 2026-01-31T23:59 "
                                         f"(UTC) or 2026-01-31T23:59+01:00") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawTextHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    limits = grading_limits()  # the defaults live on the preprocessors' traits, with their help

    def with_course(sub):
        sub.add_argument("--course", type=Path, default=ROOT, help="grading folder (default: the course folder)")
        sub.add_argument("--db", default="", help="gradebook URL (default: sqlite:///<course>/gradebook.db); "
                                                  "postgresql://... for PostgreSQL")
        return sub

    verbs.add_parser("release", help=release.__doc__)
    g = with_course(verbs.add_parser("grade", help=grade.__doc__))
    g.add_argument("submissions", type=Path, help="folder of <student>/logistic_regression/ folders, or a zip")
    g.add_argument("--student", help="grade (or regrade) only this student")
    g.add_argument("--jobs", type=_at_least(1, int), help="submissions graded at once (default: the number of cores)")
    g.add_argument("--scheduler", metavar="ADDRESS", help="grade on the Dask cluster whose scheduler is at ADDRESS "
                   "(tcp://HOST:8786) instead of on this machine; see docs/scaling.md (needs pip install -e "
                   "'.[cluster]')")
    g.add_argument("--timeout", type=_at_least(1, float), default=limits["timeout"],
                   help=f"seconds all cells of one notebook may take together (default {limits['timeout']:g})")
    g.add_argument("--cell-timeout", type=_at_least(1, int), default=limits["cell_timeout"],
                   help=f"seconds per cell (default {limits['cell_timeout']})")
    g.add_argument("--memory", type=_at_least(256, int), default=limits["memory_mb"],
                   help=f"resident memory per kernel in MiB, at least 256 (default {limits['memory_mb']})")
    g.add_argument("--due", type=_due_date, help="the assignment's due date (2026-01-31T23:59, UTC unless a zone is "
                   "given), kept in the gradebook for later runs and formgrader; a submission timestamped later "
                   "(nbgrader's timestamp.txt, or the LMS zip's file name) is marked late")
    g.add_argument("--late-penalty", choices=("none", "zero"), default="none",
                   help="what a late submission loses, as nbgrader's LateSubmissionPlugin: none (default: marked "
                        "late, keeps its points) or zero (it scores nothing)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.add_argument("--unsandboxed", action="store_true",
                   help="run learners' code without the OS sandbox (bubblewrap): for TRUSTED submissions only; "
                        "every grade records it")
    g.add_argument("--roster", type=Path, help="a CSV of student ids (column 'id', as nbgrader's student import): "
                   "resolves LMS names and reports ids it does not know")
    g.add_argument("--zip-time-format", help="how the LMS writes times in file names, as strptime (default: six "
                   "numbers year-month-day-hour-minute-second, padded or not)")
    g.add_argument("--zip-pattern", default=LMS_FILE_PATTERN,
                   help="for a flat LMS zip: a regular expression on file names with the named groups student_id "
                        "(or prefix: assignment and student) and file_id, optionally timestamp, as nbgrader's "
                        "zip_collect (default: %(default)s)")
    with_course(verbs.add_parser("feedback", help="write an HTML feedback page per student"))
    e = with_course(verbs.add_parser("export", help="write grades.csv"))
    e.add_argument("--output", type=Path, help="where to write the CSV (default: <course>/grades.csv)")
    c = verbs.add_parser("check", help=check.__doc__)
    c.add_argument("notebook", type=Path)
    c.add_argument("--timeout", type=_at_least(1, float), default=limits["timeout"],
                   help=f"seconds for the notebook (default {limits['timeout']:g})")
    b = verbs.add_parser("bundle", help=bundle.__doc__)
    b.add_argument("output", type=Path, nargs="?", default=ROOT / "dist" / "lr-course-student",
                   help="the bundle's folder (default: dist/lr-course-student; an earlier bundle there is replaced)")
    b.add_argument("--zip", action="store_true", help="also write OUTPUT.zip")
    p = verbs.add_parser("preview", help="run the solution notebooks; write an HTML page of each, with its figures")
    p.add_argument("out_dir", type=Path, nargs="?", default=ROOT / "preview", help="default: preview/")
    with_course(verbs.add_parser("demo", help=demo.__doc__))
    args = parser.parse_args(argv)

    if getattr(args, "db", ""):
        try:
            check_database_url(args.db)
        except DatabaseSetupError as exc:
            print(f"course {args.verb}: {exc}", file=sys.stderr)
            return 2
    course = Course(args.course, args.db) if hasattr(args, "course") else None
    if args.verb == "release":
        release()
        return 0
    if args.verb == "grade":
        if args.scheduler and args.jobs:
            parser.error("--jobs is for grading on this machine; on a cluster (--scheduler) its workers' threads "
                         "set how many submissions are graded at once")
        try:
            return grade(args.submissions, course=course, student=args.student, jobs=args.jobs,
                         timeout=args.timeout, cell_timeout=args.cell_timeout, memory_mb=args.memory,
                         quiet=args.quiet, zip_pattern=args.zip_pattern, sandboxed=not args.unsandboxed,
                         roster=args.roster, zip_time_format=args.zip_time_format, scheduler=args.scheduler,
                         due=args.due, late_penalty=args.late_penalty)
        except (SandboxUnavailable, StoreError, ClusterUnusable, IntakeError) as exc:
            print(f"course grade: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
        except KeyboardInterrupt:
            print("\ncourse grade: interrupted; the submissions graded so far are recorded", file=sys.stderr)
            return EXIT_INTERRUPTED
    if args.verb == "feedback":
        feedback(course=course)
        return 0
    if args.verb == "export":
        export(course=course, output=args.output)
        return 0
    if args.verb == "check":
        return check(args.notebook, timeout=args.timeout)
    if args.verb == "bundle":
        return bundle(args.output, zip_too=args.zip)
    if args.verb == "preview":
        from . import preview

        return preview.main([str(args.out_dir)])
    return demo(course=course)


if __name__ == "__main__":
    sys.exit(main())
