"""Grade submissions: in parallel, each in its own workspace, written to the gradebook by this process only.

For each ``<student>/<assignment>/`` folder a worker process (:mod:`autograder.worker`, forked from a
warm, pre-imported process per job slot) runs nbgrader's ``Autograde`` with the course pipeline
(:mod:`autograder.pipeline`) in a private workspace with a copy of the gradebook. The trusted parent
then copies the scores into the real gradebook in one transaction and swaps the autograded folder in,
so a regrade either replaces the old result or leaves it untouched. A submission that cannot be graded
still gets a recorded result and a reason; a failing submission never stops the others.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import queue
import re
import shutil
import stat
import sys
import tempfile
import time
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import (
    ASSIGNMENT,
    NOTEBOOK_NAMES,
    SOLUTIONS,
    private_folder,
    put_tools_on_path,
    sweep_temporary,
    temporary_folder,
    tests_version,
)
from .store import RESULTS_FILE, Store, StoreError, SubmissionResult, read_workspace, sqlite_path
from .worker import WarmWorker

# nbgrader's zip_collect example: ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb
LMS_FILE_PATTERN = r".*?_(?P<student_id>[^_]+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>.+)"
# Sizes checked before anything is parsed (README, "Limits"): a notebook, any other file of a submission,
# and all that one zip may expand to.
MAX_NOTEBOOK_BYTES = 10 * 2**20
MAX_FILE_BYTES = 20 * 2**20
MAX_ZIP_BYTES = 2 * 2**30


@dataclass
class Course:
    """A grading folder: gradebook, submitted/, autograded/ and feedback/ (the course root by default)."""

    root: Path
    db_url: str = ""

    def __post_init__(self):
        self.root = Path(self.root).resolve()
        self.db_url = self.db_url or f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    def record_path(self, student: str, assignment: str = ASSIGNMENT) -> Path:
        """The copy of a student's record beside the graded notebooks (the gradebook holds the original)."""
        return self.autograded / student / assignment / RESULTS_FILE

    def store(self) -> Store:
        return Store(self.db_url, self.autograded)


def nbgrader_config(root: Path, db_url: str, **course_directory):
    """The nbgrader configuration of the course for a folder ``root`` (source: the solutions)."""
    from traitlets.config import Config

    from .pipeline import AUTOGRADE, SANITIZE

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "logistic_regression_course"
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


def register_assignment(root: Path, db_url: str, release_dir: Path | None = None) -> None:
    """Put the assignment's notebooks and cells into the gradebook (nbgrader's generate_assignment).

    ``release_dir`` is where the student notebooks are written; a temporary folder when only the
    gradebook is wanted.
    """
    from nbgrader.apps import GenerateAssignmentApp

    put_tools_on_path()
    with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
        config = nbgrader_config(root, db_url, release_directory=str(release_dir or scratch),
                                 assignment_id=ASSIGNMENT)
        config.GenerateAssignment.force = True
        config.GenerateAssignment.create_assignment = True
        config.GenerateAssignmentApp.log_level = "ERROR"  # it would warn that the folder has no nbgrader_config.py
        app = GenerateAssignmentApp(config=config)
        app.initialize([])
        app.start()


# -- preparing one submission ------------------------------------------------------------------------
def prepare_submission(source: Path, target: Path) -> list[str]:
    """Copy a submission folder into ``target``, repairing what can be repaired; return what was done.

    A notebook under another name (``03_...(1).ipynb``) is graded under the expected name; a file that
    is not a valid notebook is left out (it scores zero) and the reason is noted. Only regular files are
    taken: a symbolic link (which would make the grader read whatever it points to), a device or a
    pipe is refused, and so is a file over the size limits.
    """
    notes: list[str] = []
    target.mkdir(parents=True)
    expected = {f"{name}.ipynb" for name in NOTEBOOK_NAMES}
    if source.is_symlink():
        return [f"the submission folder {source.name} is a symbolic link: refused (submit the files themselves)"]
    notebooks = {}
    for path in _regular_files(source, notes):
        if path.suffix == ".ipynb":
            notebooks[path.name] = path
        elif path.parent == source:
            if path.stat().st_size > MAX_FILE_BYTES:
                notes.append(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MiB and was left out")
            else:
                _copy_regular(path, target / path.name)
    for name in sorted(set(notebooks) - expected):
        missing = sorted(expected - set(notebooks))
        match = _recognise(notebooks[name], missing) or _closest(name, missing)
        if match:
            notes.append(f"{name} was graded as {match} (expected file name)")
            notebooks[match] = notebooks.pop(name)
        else:
            notes.append(f"{name} is not part of the assignment and was ignored")
            notebooks.pop(name)
    for name in sorted(expected):
        if name not in notebooks:
            if not any(note.startswith(f"{name} ") for note in notes):
                notes.append(f"{name} is missing, so it scores 0")
            continue
        problem = notebook_problem(notebooks[name])
        if problem:
            notes.append(f"{name} could not be graded, so it scores 0: {problem}")
            continue
        _copy_regular(notebooks[name], target / name)
    return notes


def _regular_files(source: Path, notes: list[str]) -> list[Path]:
    """The regular files under ``source`` (links not followed); what else is there is noted as refused."""
    found = []
    for folder, folders, files in os.walk(source, followlinks=False):
        folders[:] = sorted(f for f in folders if f != ".ipynb_checkpoints")
        for name in sorted(files) + [f for f in folders if Path(folder, f).is_symlink()]:
            path = Path(folder, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                notes.append(f"{name} is a symbolic link: refused (submit the file itself)")
            elif not stat.S_ISREG(mode):
                notes.append(f"{name} is not a regular file: refused")
            else:
                found.append(path)
    return found


def _copy_regular(source: Path, target: Path) -> None:
    """Copy a regular file without following a link (even one swapped in since it was checked)."""
    descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as stream, open(target, "wb") as out:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise OSError(f"{source.name} is not a regular file")
        shutil.copyfileobj(stream, out)


def _recognise(path: Path, candidates: list[str]) -> str | None:
    """The course notebook whose graded cells ``path`` has the most of (its cell ids say which it is)."""
    from .course import CHECK_MODULES
    from .verify import checks_for

    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return None
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return None
    ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    scores = []
    for candidate in candidates:
        notebook = Path(candidate).stem
        if notebook in CHECK_MODULES:
            functions = set(checks_for(notebook).functions)
            scores.append((len(ids & (functions | {f"test_{f}" for f in functions})), candidate))
    best = max(scores, default=(0, None))
    return best[1] if best[0] > 0 else None


def _closest(name: str, candidates: list[str]) -> str | None:
    stem = Path(name).stem.lower()
    for candidate in candidates:  # the same number prefix ("03_...") is the strongest hint
        if stem[:3] == candidate[:3] and stem[:2].isdigit():
            return candidate
    scored = [(difflib.SequenceMatcher(None, stem, Path(c).stem).ratio(), c) for c in candidates]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= 0.6 else None


def notebook_problem(path: Path) -> str | None:
    """Why ``path`` cannot be graded as a notebook, or None. The size is checked before anything is parsed."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return (f"the file is {size / 2**20:.0f} MiB, more than the {MAX_NOTEBOOK_BYTES // 2**20} MiB a notebook may "
                f"be (clear its outputs: Edit > Clear Outputs of All Cells, then save)")
    raw = path.read_bytes()
    if not raw.strip():
        return "the file is empty"
    try:
        json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "the file is not text (is it really a notebook?)"
    except json.JSONDecodeError as exc:
        return f"the file is not valid notebook JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # nbformat raises several kinds for JSON that is not a notebook
        return f"the file is JSON but not a valid notebook ({str(exc).splitlines()[0][:120]})"
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        return f"the notebook structure is invalid ({exc.message[:120]})"
    return None


@dataclass
class Outcome:
    """What happened to one submission in a batch."""

    student: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    record: dict = field(default_factory=dict)


class SandboxUnavailable(Exception):
    """No OS sandbox can be made here, and the run did not ask to grade without one."""


def grade_batch(course: Course, submissions: Path, *, student: str | None = None, jobs: int | None = None,
                timeout: float = 900.0, cell_timeout: int = 300, memory_mb: int = 3072, quiet: bool = False,
                zip_pattern: str = LMS_FILE_PATTERN, sandboxed: bool = True) -> list[Outcome]:
    """Grade every ``<student>/<assignment>/`` folder (or a zip of them) under ``submissions``.

    ``sandboxed=False`` runs learners' code without the OS sandbox: for trusted submissions only, and
    recorded with every result.
    """
    from . import sandbox
    from .report import progress

    if sandboxed and (reason := sandbox.unavailable()):
        raise SandboxUnavailable(f"cannot grade safely: {reason}. Install it, or pass --unsandboxed to grade "
                                 f"trusted submissions without the OS sandbox")
    sandbox.cgroups.sweep()  # the cgroups an earlier, killed run left behind

    # nbgrader's own gradebook code warns about rows SQLAlchemy adds lazily; they are not the instructor's concern
    warnings.filterwarnings("ignore", message="Object of type .* not in session", category=RuntimeWarning)
    course.root.mkdir(parents=True, exist_ok=True)
    sweep_temporary()  # what an earlier, killed run left in the temporary folder
    batch = temporary_folder("course-grade-")
    try:
        intake_notes: dict[str, list[str]] = {}
        folders = collect(submissions, batch / "unpacked", zip_pattern, intake_notes)
        if student:
            folders = {s: p for s, p in folders.items() if s == student}
            if not folders:
                raise SystemExit(f"no submission for student {student!r} in {submissions}")
        jobs = jobs or max(1, os.cpu_count() or 1)
        blas_threads = max(1, (os.cpu_count() or 1) // jobs)
        settings = {"timeout": cell_timeout, "notebook_timeout": timeout, "memory_mb": memory_mb,
                    "sandboxed": sandboxed}
        env = dict(os.environ, OMP_NUM_THREADS=str(blas_threads), OPENBLAS_NUM_THREADS=str(blas_threads),
                   MKL_NUM_THREADS=str(blas_threads), PYTHONDONTWRITEBYTECODE="1")
        budget = timeout * len(NOTEBOOK_NAMES) + _verify_budget() + 120  # wall seconds for one submission
        workers: queue.SimpleQueue[WarmWorker] = queue.SimpleQueue()
        started = [WarmWorker(env, batch / f"warm-worker-{i}.log") for i in range(min(jobs, len(folders)))]
        for worker in started:
            worker.start()  # they import while the gradebook is checked and the first submissions prepared
            workers.put(worker)
        outcomes: list[Outcome] = []

        def one(item):
            name, folder = item
            worker = workers.get()
            try:
                return _grade_one(course, store, name, folder, batch, template, settings, worker, budget,
                                  intake_notes.get(name, []))
            finally:
                workers.put(worker)

        store = course.store()
        pool = ThreadPoolExecutor(max_workers=jobs)
        bar = None
        try:
            template = assignment_gradebook()
            _ensure_registered(course, store, template)
            bar = progress(len(folders), quiet=quiet)
            for future in as_completed([pool.submit(one, item) for item in sorted(folders.items())]):
                outcome = future.result()
                outcomes.append(outcome)
                bar.step(outcome.student, outcome.status)
        finally:  # also on Ctrl-C: nothing more starts, and what runs is stopped (its earlier result stays)
            pool.shutdown(wait=False, cancel_futures=True)
            for worker in started:
                worker.close()
            pool.shutdown(wait=True)
            store.close()
            if bar is not None:
                bar.close()
    finally:
        shutil.rmtree(batch, ignore_errors=True)
    return sorted(outcomes, key=lambda outcome: outcome.student)


def collect(submissions: Path, unpack_to: Path, pattern: str = LMS_FILE_PATTERN,
            notes: dict[str, list[str]] | None = None) -> dict[str, Path]:
    """Map each student to their assignment folder.

    ``submissions`` is a folder of ``<student>/<assignment>/`` folders, or a zip of such folders, or the
    flat zip an LMS exports, whose file names say the student (``pattern``, with nbgrader's zip_collect
    named groups ``student_id``, ``file_id`` and optionally ``timestamp``; the latest attempt wins).
    What a zip held that was refused (a symbolic link, a file over the size limit) is added to
    ``notes`` under its student.
    """
    submissions = Path(submissions)
    refused: dict[Path, str] = {}
    if submissions.is_file() and zipfile.is_zipfile(submissions):
        submissions = _unzip(submissions, unpack_to / "zip", pattern, refused)
    if not submissions.is_dir():
        raise SystemExit(f"{submissions} is neither a folder nor a zip file of submissions")
    folders = {}
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith(".")):
        folder = student_dir / ASSIGNMENT
        folders[student_dir.name] = folder if folder.is_dir() and not folder.is_symlink() else student_dir
        for path, reason in refused.items():
            if notes is not None and path.is_relative_to(student_dir):
                notes.setdefault(student_dir.name, []).append(reason)
    if not folders:
        raise SystemExit(f"no submissions in {submissions}: expected <student>/{ASSIGNMENT}/<notebook>.ipynb")
    return folders


def _unzip(archive_path: Path, target: Path, pattern: str, refused: dict[Path, str]) -> Path:
    """Extract ``archive_path`` into ``target`` (regular files only, within the size limits)."""
    total = 0
    with zipfile.ZipFile(archive_path) as archive:
        members = archive.infolist()
        for member in members:
            destination = (target / member.filename).resolve()
            if not destination.is_relative_to(target.resolve()):
                raise SystemExit(f"{archive_path}: refusing the unsafe path {member.filename!r} in the zip")
        for member in members:
            destination = target / member.filename
            kind = stat.S_IFMT(member.external_attr >> 16)
            if member.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)  # the student gets a record all the same
            name = Path(member.filename).name
            if kind == stat.S_IFLNK:
                refused[destination] = f"{name} is a symbolic link in the zip: refused (submit the file itself)"
            elif kind not in (0, stat.S_IFREG):
                refused[destination] = f"{name} is not a regular file in the zip: refused"
            elif member.file_size > MAX_FILE_BYTES:
                refused[destination] = f"{name} is larger than {MAX_FILE_BYTES // 2**20} MiB and was left out"
            else:
                written = _extract(archive, member, destination, MAX_FILE_BYTES)
                if written is None:
                    refused[destination] = f"{name} is larger than {MAX_FILE_BYTES // 2**20} MiB and was left out"
                    continue
                total += written
                if total > MAX_ZIP_BYTES:
                    raise SystemExit(f"{archive_path} expands to more than {MAX_ZIP_BYTES // 2**30} GiB: refused "
                                     f"(split it, or check it is the export you meant)")
    entries = [p for p in target.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir() and not (entries[0] / ASSIGNMENT).is_dir():
        entries = [p for p in entries[0].iterdir() if not p.name.startswith(".")]  # one top folder
    files = [p for p in entries if p.is_file() or p in refused]
    if not files:
        return entries[0].parent
    collected, latest, skipped = target.parent / "collected", {}, []
    for path in files:
        match = re.fullmatch(pattern, path.name)
        if not match:
            skipped.append(path.name)
            continue
        student, file_id = match["student_id"], match["file_id"]
        (collected / student / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
        if path in refused:
            refused[collected / student / ASSIGNMENT / file_id] = refused.pop(path)
            continue
        stamp = match.groupdict().get("timestamp") or ""
        if stamp >= latest.get((student, file_id), ("", None))[0]:
            latest[(student, file_id)] = (stamp, path)
    for (student, file_id), (_, path) in latest.items():
        shutil.copy(path, collected / student / ASSIGNMENT / file_id)
    if skipped:
        print(f"warning: {len(skipped)} file(s) in {archive_path.name} do not match the file name pattern and were "
              f"not graded: {', '.join(sorted(skipped)[:5])}", file=sys.stderr)
    if not latest and not refused:
        raise SystemExit(f"no file in {archive_path} matches the pattern {pattern!r}: pass --zip-pattern with "
                         "named groups student_id and file_id")
    return collected


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, destination: Path, limit: int) -> int | None:
    """Stream one member to ``destination``; None (and nothing kept) when it holds more than ``limit`` bytes.

    The sizes a zip declares can lie: what is counted is what really comes out.
    """
    written = 0
    with archive.open(member) as stream, open(destination, "wb") as out:
        while chunk := stream.read(1 << 20):
            written += len(chunk)
            if written > limit:
                break
            out.write(chunk)
    if written > limit:
        destination.unlink()
        return None
    return written


def assignment_gradebook() -> Path:
    """A gradebook holding just the assignment at the current tests version, built once and cached.

    Registering the assignment (nbgrader's generate_assignment) takes seconds; workers and ``course check``
    start from a copy of this file instead. It lives where grading kernels may not read.
    """
    path = private_folder("course-cache") / f"gradebook-{tests_version()}.db"
    if not path.exists():
        with tempfile.TemporaryDirectory(prefix="course-register-") as scratch:
            register_assignment(Path(scratch), f"sqlite:///{scratch}/gradebook.db")
            staged = path.with_name(f"{path.name}.{os.getpid()}")
            shutil.copy(Path(scratch) / "gradebook.db", staged)
            staged.replace(path)  # atomic: a concurrent run sees the whole file or none
    return path


def _ensure_registered(course: Course, store: Store, template: Path) -> None:
    """Make sure the course's gradebook has its tables and knows the assignment as it is now in ``solutions/``.

    Done under the store's lock, so concurrent first runs do not both create the schema.
    """
    course.root.mkdir(parents=True, exist_ok=True)
    with store.lock():
        fresh = False
        database = sqlite_path(course.db_url)
        if database is not None:
            if not database.exists():
                shutil.copy(template, database)  # a new gradebook: the assignment already registered, at once
                fresh = True
        store.prepare()
        if store.registered_tests_version() != tests_version():
            if not fresh:
                register_assignment(course.root, course.db_url)
            store.set_registered_tests_version(tests_version())


def _grade_one(course, store: Store, student, folder, batch, template, settings, worker: WarmWorker,
               budget: float, intake_notes: list[str]) -> Outcome:
    started = time.monotonic()
    workspace = batch / f"w-{student}"
    submitted = workspace / "submitted" / student / ASSIGNMENT
    try:
        notes = intake_notes + prepare_submission(folder, submitted)
    except OSError as exc:
        notes = [*intake_notes, f"the submission folder could not be read ({exc})"]
        submitted.mkdir(parents=True, exist_ok=True)
    try:
        if not any(submitted.glob("*.ipynb")):  # nothing nbgrader could open: the result is zero, with the reasons
            record = _record(student, "graded with problems", "; ".join(notes), time.monotonic() - started, settings)
            store.commit(SubmissionResult(student, record))
            return Outcome(student, record["status"], record["reason"], record["seconds"], record)
        shutil.copy(template, workspace / "gradebook.db")
        (workspace / "settings.json").write_text(json.dumps(settings))
        log = workspace / "worker.log"
        code, problem = worker.grade(workspace, student, log, budget=budget)
        if code:
            problem = f"the grader failed on this submission (exit code {code})"
        seconds = time.monotonic() - started
        autograded = workspace / "autograded" / student / ASSIGNMENT
        if problem or not autograded.is_dir():
            problem = problem or "nbgrader produced no graded notebook"
            log_tail = log.read_text(errors="replace")[-20000:] if log.exists() else ""
            return _record_error(store, student, "; ".join([*notes, problem]), seconds, settings, log_tail)
        record = _build_record(student, autograded, notes, seconds)
        record["sandboxed"] = settings["sandboxed"]
        store.commit(read_workspace(f"sqlite:///{workspace / 'gradebook.db'}", autograded, student, record))
    except StoreError as exc:
        return _record_error(store, student, str(exc), time.monotonic() - started, settings, "")
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    return Outcome(student, record["status"], record["reason"], seconds, record)


def _record(student: str, status: str, reason: str, seconds: float, settings: dict) -> dict:
    return {"student": student, "assignment": ASSIGNMENT, "status": status, "reason": reason,
            "tests_version": tests_version(), "seconds": round(seconds, 2), "notebooks": {},
            "sandboxed": settings["sandboxed"],
            "graded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def _record_error(store: Store, student: str, reason: str, seconds: float, settings: dict, log_tail: str) -> Outcome:
    """The grader failed on this submission: say so in the gradebook, keeping an earlier result whole."""
    record = {**_record(student, "error", reason, seconds, settings), "log": log_tail}
    try:
        kept = store.mark_error(student, record)
    except StoreError as exc:  # the gradebook itself failed: the outcome is still reported
        return Outcome(student, "error", f"{reason}; and it could not be recorded: {exc}", seconds, record)
    return Outcome(student, "error", f"{reason} (the earlier result is kept)" if kept else reason, seconds, record)


def _verify_budget() -> float:
    """The longest the verification of one submission may take: each job's limit, for every job."""
    from .verify import VERIFY_TIMEOUT, checks_for

    jobs = sum(len(checks_for(n).functions) + (checks_for(n).feedback_curve is not None) for n in NOTEBOOK_NAMES)
    return VERIFY_TIMEOUT * jobs


def _build_record(student: str, autograded: Path, notes: list[str], seconds: float) -> dict:
    notebooks, reasons, tampering = {}, list(notes), False
    for name in NOTEBOOK_NAMES:
        path = autograded / f"{name}.results.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        path.unlink()
        notebooks[name] = data
        if data.get("stopped"):
            reasons.append(f"{name}: {data['stopped']}")
        reasons += [f"{name}: {note}" for note in data.get("notes") or []]
        functions = data.get("functions") or {}
        tampering |= any(f.get("tampering") for f in functions.values()) or bool(data.get("edited_tests"))
    status = "tampering suspected" if tampering else ("graded with problems" if reasons else "graded")
    return {"student": student, "assignment": ASSIGNMENT, "status": status, "reason": "; ".join(reasons),
            "tests_version": tests_version(), "graded_at": dt.datetime.now(dt.timezone.utc).isoformat(
                timespec="seconds"), "seconds": round(seconds, 2), "notebooks": notebooks}
