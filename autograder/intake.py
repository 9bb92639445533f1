"""Intake: turn what instructors collected into one clean folder per student, refusing what is unsafe.

Submissions come as a folder of ``<student>/<assignment>/`` folders (nbgrader's exchange or a copy),
a zip of such folders, or the flat zip an LMS exports (``ps1_ada_attempt_2024-01-09-10-00-00_<file>``).
Every file is checked before anything is parsed: only regular files are taken (no symbolic links,
devices or pipes), within the size limits below, and a zip is measured as it is extracted. What is
remarks or repaired is noted in that student's record; one bad submission never stops the batch.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
import shutil
import stat
import sys
import zipfile
from pathlib import Path

import nbformat

from .course import ASSIGNMENT, NOTEBOOK_NAMES

# The file names of a flat LMS export, as nbgrader's zip_collect knows them:
#   ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb
# A custom --zip-pattern names the groups student_id (or prefix: the assignment and the student, as here),
# file_id and optionally timestamp.

class IntakeError(Exception):
    """The submissions cannot be taken in at all (no such folder, an unsafe or oversized zip, an empty roster);
    the message says what was wrong and what to do. One bad submission among good ones is never this."""


LMS_FILE_PATTERN = r"(?P<prefix>.+?)_attempt_(?P<timestamp>[0-9]+(?:-[0-9]+)*)_(?P<file_id>.+)"
TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's: when the submission was made (for late penalties)
# Sizes checked before anything is parsed (README, "Limits"): a notebook, any other file of a submission,
# and all that one zip may expand to.
MAX_NOTEBOOK_BYTES = 10 * 2**20
MAX_FILE_BYTES = 20 * 2**20
MAX_ZIP_BYTES = 2 * 2**30


# -- preparing one submission ------------------------------------------------------------------------
def prepare_submission(source: Path, target: Path) -> list[str]:
    """Copy a submission folder into ``target``, repairing what can be repaired; return what was done.

    A notebook under another name (``03_...(1).ipynb``) is graded under the expected name; a file that
    is not a valid notebook is left out (it scores zero) and the reason is noted. Only regular files are
    taken: a symbolic link (which would make the grader read whatever it points to), a device or a
    pipe is remarks, and so is a file over the size limits.
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
            elif path.lstat().st_nlink > 1:
                notes.append(f"{name} is a hard link to another file: refused (submit a copy of your own)")
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
        return f"the file is not valid notebook JSON ({exc.msg}: line {exc.lineno}, column {exc.colno})"
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # nbformat raises several kinds for JSON that is not a notebook
        return f"the file is JSON but not a valid notebook ({str(exc).splitlines()[0][:120]})"
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        return f"the notebook structure is invalid ({exc.message[:120]})"
    return None


def collect(submissions: Path, unpack_to: Path, pattern: str = LMS_FILE_PATTERN,
            notes: dict[str, list[str]] | None = None, roster: set[str] | None = None,
            time_format: str | None = None) -> dict[str, Path]:
    """Map each student to their assignment folder.

    ``submissions`` is a folder of ``<student>/<assignment>/`` folders, or a zip of such folders, or the
    flat zip an LMS exports, whose file names say the student (``pattern``, with nbgrader's zip_collect
    named groups ``student_id``, ``file_id`` and optionally ``timestamp``; the latest attempt wins).
    What a zip held that was remarks (a symbolic link, a file over the size limit), held twice, or whose
    student is unknown or ambiguous is added to ``notes`` under its student; ``roster`` (student ids)
    tells which ids exist. ``time_format`` (``strptime``) reads the LMS's timestamps; by default, six
    numbers year-month-day-hour-minute-second, padded or not.
    """
    submissions = Path(submissions)
    remarks: dict[Path, str] = {}
    if submissions.is_file() and zipfile.is_zipfile(submissions):
        submissions = _unzip(submissions, unpack_to / "zip", pattern, remarks, roster, time_format)
    if not submissions.is_dir():
        raise IntakeError(f"{submissions} is neither a folder nor a zip file of submissions")
    folders = {}
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith(".")):
        folder = student_dir / ASSIGNMENT
        linked = student_dir.is_symlink() or folder.is_symlink()  # prepare_submission refuses it, with the reason
        folders[student_dir.name] = folder if folder.is_dir() and not linked else student_dir
        for path, reason in remarks.items():
            if notes is not None and path.is_relative_to(student_dir):
                notes.setdefault(student_dir.name, []).append(reason)
        if roster is not None and student_dir.name not in roster and notes is not None:
            notes.setdefault(student_dir.name, []).append(f"{student_dir.name} is not in the roster: check the id")
    if not folders:
        raise IntakeError(f"no submissions in {submissions}: expected <student>/{ASSIGNMENT}/<notebook>.ipynb")
    return folders


def _unzip(archive_path: Path, target: Path, pattern: str, remarks: dict[Path, str], roster: set[str] | None = None,
           time_format: str | None = None) -> Path:
    """Extract ``archive_path`` into ``target`` (regular files only, within the size limits).

    A zip of student folders is returned as it is; a flat LMS export is sorted into a folder per
    student, keeping each student's latest attempt.
    """
    total = 0
    with zipfile.ZipFile(archive_path) as archive:
        members = archive.infolist()
        for member in members:
            destination = (target / member.filename).resolve()
            if not destination.is_relative_to(target.resolve()):
                raise IntakeError(f"{archive_path}: refusing the unsafe path {member.filename!r} in the zip")
        counts: dict[str, int] = {}
        for member in members:
            counts[member.filename] = counts.get(member.filename, 0) + 1
        for member in members:
            destination = target / member.filename
            kind = stat.S_IFMT(member.external_attr >> 16)
            if member.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            try:
                destination.parent.mkdir(parents=True, exist_ok=True)  # the student gets a record all the same
            except OSError as exc:
                remarks[target / Path(member.filename).parts[0]] = (f"{member.filename[:80]} could not be "
                                                                    f"extracted ({exc.strerror}): left out")
                continue
            name = Path(member.filename).name
            if kind == stat.S_IFLNK:
                remarks[destination] = f"{name} is a symbolic link in the zip: refused (submit the file itself)"
            elif kind not in (0, stat.S_IFREG):
                remarks[destination] = f"{name} is not a regular file in the zip: refused"
            elif member.file_size > MAX_FILE_BYTES:
                remarks[destination] = f"{name} is larger than {MAX_FILE_BYTES // 2**20} MiB and was left out"
            else:
                try:
                    written = _extract(archive, member, destination, MAX_FILE_BYTES)
                except OSError as exc:  # a name too long, a file where a folder must be...: that member only
                    remarks[destination.parent] = f"{name[:80]} could not be extracted ({exc.strerror}): left out"
                    continue
                if written is None:
                    remarks[destination] = f"{name} is larger than {MAX_FILE_BYTES // 2**20} MiB and was left out"
                    continue
                total += written
                if total > MAX_ZIP_BYTES:
                    raise IntakeError(f"{archive_path} expands to more than {MAX_ZIP_BYTES // 2**30} GiB: refused "
                                     f"(split it, or check it is the export you meant)")
                if counts[member.filename] > 1:
                    remarks.setdefault(destination, f"the zip holds {name} {counts[member.filename]} times: the "
                                                    f"last copy was graded")
    entries = [p for p in target.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir() and not (entries[0] / ASSIGNMENT).is_dir():
        entries = [p for p in entries[0].iterdir() if not p.name.startswith(".")]  # one top folder
    files = [p for p in entries if p.is_file() or p in remarks]
    if not files:
        return entries[0].parent
    return _sort_lms_export(archive_path, files, target.parent / "collected", pattern, remarks, roster, time_format)


def _sort_lms_export(archive_path: Path, files: list[Path], collected: Path, pattern: str, remarks: dict[Path, str],
                     roster: set[str] | None, time_format: str | None) -> Path:
    """A folder per student from a flat LMS export: each student's latest attempt of each file."""
    matches, skipped = {}, []
    for path in files:
        match = re.fullmatch(pattern, path.name)
        if match and "file_id" in match.groupdict() and ({"student_id", "prefix"} & set(match.groupdict())):
            matches[path] = match
        else:
            skipped.append(path.name)
    if skipped:
        print(f"warning: {len(skipped)} file(s) in {archive_path.name} do not match the file name pattern and were "
              f"not graded: {', '.join(sorted(skipped)[:5])}", file=sys.stderr)
    if not matches:
        raise IntakeError(f"no file in {archive_path} matches the pattern {pattern!r}: pass --zip-pattern with "
                         "the named groups student_id (or prefix) and file_id")
    prefixes = {m["prefix"] for m in matches.values() if "prefix" in m.groupdict()}
    students = student_ids(sorted(prefixes), roster)
    latest: dict[tuple[str, str], tuple[dt.datetime, Path]] = {}
    student_notes: dict[str, list[str]] = {}
    for path, match in matches.items():
        if "student_id" in match.groupdict():
            student, remark = match["student_id"], None
        else:
            student, remark = students[match["prefix"]]
        file_id = match["file_id"]
        (collected / student / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
        if remark:
            student_notes.setdefault(student, []).append(remark)
        if path in remarks:
            remarks[collected / student / ASSIGNMENT / file_id] = remarks.pop(path)
            if not path.exists():
                continue
        if file_id == TIMESTAMP_FILE:
            student_notes.setdefault(student, []).append(f"a file named {TIMESTAMP_FILE} was ignored (the LMS says "
                                                         f"when it was submitted)")
            continue
        stamp = match.groupdict().get("timestamp")
        when = parse_timestamp(stamp, time_format) if stamp else dt.datetime.min
        if when is None:
            student_notes.setdefault(student, []).append(f"the time {stamp!r} in {path.name} could not be read (pass "
                                                   f"--zip-time-format): this attempt counts as the earliest")
            when = dt.datetime.min
        if (student, file_id) not in latest or when >= latest[(student, file_id)][0]:
            latest[(student, file_id)] = (when, path)
    submitted: dict[str, dt.datetime] = {}
    for (student, file_id), (when, path) in latest.items():
        shutil.copy(path, collected / student / ASSIGNMENT / file_id)
        if when != dt.datetime.min:
            submitted[student] = max(when, submitted.get(student, when))
    for student, when in submitted.items():  # nbgrader's late penalties read this
        (collected / student / ASSIGNMENT / TIMESTAMP_FILE).write_text(when.isoformat(sep=" "))
    for student, notes in student_notes.items():
        for note in dict.fromkeys(notes):
            remarks[collected / student / ASSIGNMENT / f".note-{len(remarks)}"] = note
    return collected


def parse_timestamp(text: str, time_format: str | None = None) -> dt.datetime | None:
    """An LMS timestamp as a date: ``time_format`` (strptime), or six numbers Y-M-D-h-m-s, padded or not."""
    try:
        if time_format:
            return dt.datetime.strptime(text, time_format)
        numbers = [int(n) for n in re.findall(r"[0-9]+", text)]
        return dt.datetime(*numbers) if len(numbers) in (3, 5, 6) else None
    except (ValueError, TypeError):
        return None


def student_ids(prefixes: list[str], roster: set[str] | None = None) -> dict[str, tuple[str, str | None]]:
    """The student id in each ``<assignment>_<student>`` prefix of an LMS file name, and a remark or None.

    Both parts may hold underscores (``ps1_jean_luc``). With a roster, the id is the ending of the prefix
    that the roster knows; an ending it does not know, or more than one it knows, is reported. Without
    one, the words every prefix starts with are the assignment's, and the rest is the student's.
    """
    split = [prefix.split("_") for prefix in prefixes]
    common = 0
    while split and all(len(words) > common + 1 and words[common] == split[0][common] for words in split):
        common += 1
    common = max(common, 1)
    found = {}
    for prefix, words in zip(prefixes, split, strict=True):
        default = "_".join(words[min(common, len(words) - 1):])
        if roster is None:
            found[prefix] = (default, None)
            continue
        known = [ending for ending in ("_".join(words[i:]) for i in range(len(words))) if ending in roster]
        if len(known) == 1:
            found[prefix] = (known[0], None)
        elif known:
            found[prefix] = (known[0], f"the LMS name {prefix!r} could be any of the students {', '.join(known)}: "
                                       f"graded as {known[0]}; check it")
        else:
            found[prefix] = (default, f"{default} (from the LMS name {prefix!r}) is not in the roster: check the id")
    return found


def load_roster(path: Path) -> set[str]:
    """Student ids from a CSV file: the column ``id`` (nbgrader's student import) or ``student_id``, or the first."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as stream:
        rows = list(csv.reader(stream))
    if not rows:
        raise IntakeError(f"the roster {path} is empty: it needs a column 'id' of student ids")
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(name) for name in ("id", "student_id") if name in header), None)
    body = rows[1:] if column is not None else rows
    return {row[column or 0].strip() for row in body if row and row[column or 0].strip()}


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


