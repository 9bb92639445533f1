"""Prove the grader is right: the catalog of learner code in ``tests/catalog/``, graded by the real pipeline.

Every catalogued MISTAKE must lose the points of the function it is written for, and only those: every
other function of its notebook keeps full marks. Every catalogued VARIANT must earn full marks. The
submissions are built from the student notebooks (:func:`autograder.submissions.filled`) and graded with
:func:`autograder.grading.grade_batch`, exactly as a batch of learners' work is.

To keep the run affordable, one submission carries several entries when they are for *different*
functions of the same notebook: the grader judges each function on its own, giving it the reference
versions of the graded functions it calls, so the entries do not interfere. Each submission holds only
the notebook concerned (the others are missing, which costs their points and nothing else), and the
notebook ends with its last test cell: the exploration cells after it (training on the full dataset,
plots) cannot change a score, and are the bulk of the grading time of notebook 03.

A mistake's message is SPECIFIC unless it is one of the policy's fallback texts, which only say that a
value differs (see ``GENERIC`` below): "x = 0.7 but should be 0.73 (tolerance ...)", "k of n values are
wrong (largest error ...)", "k of n labels are wrong" with nothing after it, and "is off by a constant
factor of about ..." (which names no cause). Everything else names a cause or a fix: a hint of the
function's check, one of the policy's diagnoses (sign, factor m, shape, type, None, rounding...), or the
learner's own error (``raised TypeError: ...``). At least 80 % of the mistakes must get a specific
message; an entry's ``expect_hint``, when given, must appear in its message.
"""

from __future__ import annotations

import collections
import re
import time
from dataclasses import dataclass

import pytest
from catalog import Entry
from catalog.mistakes import MISTAKES
from catalog.variants import VARIANTS

from autograder.grading import Course, grade_batch
from autograder.pipeline import test_function as graded_function_of  # renamed: pytest would collect it
from autograder.submissions import filled, write_submission
from autograder.verify import checks_for

JOBS = 2
NOTEBOOK_TIMEOUT = 120.0  # seconds for one trimmed notebook (they take a few): stops a mistake that never ends
CELL_TIMEOUT = 60
MIN_SPECIFIC = 0.80

GENERIC = (
    re.compile(r" = \S+ but should be \S+ \(tolerance"),  # a number that differs, nothing more
    re.compile(r"values are wrong \(largest error"),  # an array that differs, nothing more
    re.compile(r"labels are wrong$"),  # labels that differ, no hint after them
    re.compile(r"is off by a constant factor of about"),  # a ratio that names no cause
)


def is_generic(message: str) -> bool:
    return any(pattern.search(message) for pattern in GENERIC)


@dataclass
class Submission:
    student: str
    notebook: str
    entries: dict[str, Entry]  # function -> the entry written for it
    kind: str  # "mistake" or "variant"


@dataclass
class Graded:
    submissions: list[Submission]
    records: dict[str, dict]
    seconds: float  # building and grading the submissions
    started: float  # time.monotonic() when the fixture started

    def functions(self, submission: Submission) -> dict[str, dict]:
        record = self.records.get(submission.student, {})
        return (record.get("notebooks", {}).get(submission.notebook) or {}).get("functions") or {}


def plan(entries: list[Entry], kind: str) -> list[Submission]:
    """Few submissions: the k-th submission of a notebook holds the k-th entry of each of its functions."""
    queues: dict[str, dict[str, list[Entry]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for entry in entries:
        queues[entry.notebook][entry.function].append(entry)
    submissions = []
    for notebook, by_function in sorted(queues.items()):
        for k in range(max(len(q) for q in by_function.values())):
            chosen = {function: q[k] for function, q in by_function.items() if k < len(q)}
            submissions.append(Submission(f"{kind}-{notebook[:2]}-{k + 1}", notebook, chosen, kind))
    return submissions


def learner_notebook(notebook: str, entries: dict[str, Entry]):
    """The student notebook with the entries (and the reference elsewhere), ending at its last test cell."""
    nb = filled(notebook, {function: entry.source for function, entry in entries.items()})
    last_test = max(i for i, cell in enumerate(nb.cells) if graded_function_of(cell))
    nb.cells = nb.cells[: last_test + 1]
    return nb


def test_catalog_is_well_formed():
    names = [e.key for e in MISTAKES] + [e.key for e in VARIANTS]
    assert len(names) == len(set(names)), "entry names must be unique"
    assert len(MISTAKES) >= 40 and len(VARIANTS) >= 15
    for entry in MISTAKES + VARIANTS:
        functions = checks_for(entry.notebook).functions
        assert entry.function in functions, f"{entry.key}: {entry.function} is not graded in {entry.notebook}"
        assert f"def {entry.function}(" in entry.source, f"{entry.key}: the source must define {entry.function}"
        compile(entry.source, entry.key, "exec")
    for notebook in {e.notebook for e in MISTAKES}:
        missing = set(checks_for(notebook).functions) - {e.function for e in MISTAKES if e.notebook == notebook}
        assert not missing, f"no catalogued mistake for {', '.join(sorted(missing))} of {notebook}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Graded:
    started = time.monotonic()
    root = tmp_path_factory.mktemp("catalog")
    submissions = plan(MISTAKES, "mistake") + plan(VARIANTS, "variant")
    folder = root / "submissions"
    for submission in submissions:
        write_submission(folder, submission.student,
                         {submission.notebook: learner_notebook(submission.notebook, submission.entries)})
    course = Course(root / "course")
    grade_batch(course, folder, jobs=JOBS, timeout=NOTEBOOK_TIMEOUT, cell_timeout=CELL_TIMEOUT, quiet=True)
    return Graded(submissions, course.store().records(), time.monotonic() - started, started)


def test_every_submission_was_graded_without_incident(graded):
    problems = []
    for submission in graded.submissions:
        record = graded.records.get(submission.student)
        if record is None:
            problems.append(f"{submission.student}: no record")
            continue
        data = record["notebooks"].get(submission.notebook)
        # the only problem allowed: the notebooks left out of the submission are missing
        notes = [note for note in record["reason"].split("; ")
                 if note and (submission.notebook in note or "missing" not in note)]
        if record["status"] not in ("graded", "graded with problems") or not data or notes:
            problems.append(f"{submission.student}: {record['status']}: {record['reason']}")
        elif set(data["functions"]) != set(checks_for(submission.notebook).functions):
            problems.append(f"{submission.student}: functions graded {sorted(data['functions'])}")
    assert not problems, "\n".join(problems)


def _mistake_outcomes(graded: Graded) -> tuple[list[tuple[Entry, dict]], list[str]]:
    """(entry, its function's result) for every mistake, and what went wrong elsewhere (collateral)."""
    outcomes, collateral = [], []
    for submission in graded.submissions:
        if submission.kind != "mistake":
            continue
        results = graded.functions(submission)
        for function, result in results.items():
            if function in submission.entries:
                outcomes.append((submission.entries[function], result))
            elif result["score"] != result["points"]:
                collateral.append(f"{submission.student}: {function} lost points it should keep "
                                  f"(mistakes in this submission: {', '.join(submission.entries)}): "
                                  f"{result['message']}")
        outcomes += [(entry, {}) for function, entry in submission.entries.items() if function not in results]
    return outcomes, collateral


def test_every_mistake_loses_points_where_it_was_made_and_only_there(graded):
    outcomes, collateral = _mistake_outcomes(graded)
    problems = list(collateral)
    for entry, result in outcomes:
        if not result:
            problems.append(f"{entry.key}: {entry.function} was not graded")
        elif result["score"] >= result["points"]:
            problems.append(f"{entry.key}: NOT CAUGHT, {entry.function} kept its points ({result['message']})")
        elif result.get("tampering"):
            problems.append(f"{entry.key}: reported as suspected tampering ({result['message']})")
    assert not problems, "\n".join(problems)


def test_every_variant_earns_full_marks(graded):
    problems = []
    for submission in graded.submissions:
        if submission.kind != "variant":
            continue
        for function, result in graded.functions(submission).items():
            if result["score"] != result["points"]:
                entry = submission.entries.get(function)
                what = f"the variant {entry.key}" if entry else "the reference (next to variants)"
                problems.append(f"{submission.student}: {function} ({what}) lost points: {result['message']}")
    assert not problems, "\n".join(problems)


def test_mistakes_get_specific_messages(graded):
    outcomes, _ = _mistake_outcomes(graded)
    judged = [(entry, result["message"]) for entry, result in outcomes if result and not result["passed"]]
    missing_hints = [f"{entry.key}: expected {entry.expect_hint!r} in: {message}" for entry, message in judged
                     if entry.expect_hint and entry.expect_hint.lower() not in message.lower()]
    generic = [f"{entry.key}: {message}" for entry, message in judged if is_generic(message)]
    share = 1 - len(generic) / max(len(judged), 1)
    print(f"\ngeneric messages ({len(generic)}):" + "".join(f"\n  {line}" for line in generic))
    assert not missing_hints, "\n".join(missing_hints)
    assert share >= MIN_SPECIFIC, f"only {share:.0%} of the mistakes get a specific message"


def test_summary(graded):
    """Print the rates (run with -s to see them); the tests above assert them."""
    outcomes, collateral = _mistake_outcomes(graded)
    killed = sum(1 for _, result in outcomes if result and result["score"] < result["points"])
    specific = [r["message"] for _, r in outcomes if r and not r["passed"] and not is_generic(r["message"])]
    errors = sum(1 for message in specific if re.search(r"\) raised \w+", message))
    variants = [(s, f, r) for s in graded.submissions if s.kind == "variant"
                for f, r in graded.functions(s).items() if f in s.entries]
    accepted = sum(1 for _, _, r in variants if r["score"] == r["points"])
    notebooks = collections.Counter(s.notebook[:2] for s in graded.submissions)
    print("\n" + "\n".join([
        f"catalog: {len(MISTAKES)} mistakes, {len(VARIANTS)} variants, in {len(graded.submissions)} submissions "
        f"({', '.join(f'{n}: {c}' for n, c in sorted(notebooks.items()))})",
        f"kill rate:       {killed}/{len(MISTAKES)} = {killed / len(MISTAKES):.0%} "
        f"(collateral losses in other functions: {len(collateral)})",
        f"acceptance rate: {accepted}/{len(VARIANTS)} = {accepted / len(VARIANTS):.0%}",
        f"specific:        {len(specific)}/{len(MISTAKES)} = {len(specific) / len(MISTAKES):.0%} "
        f"({errors} of them the learner's own error message)",
        f"wall time:       grading {graded.seconds:.0f} s, whole module {time.monotonic() - graded.started:.0f} s "
        f"(jobs={JOBS})",
    ]))
    assert killed == len(MISTAKES) and accepted == len(VARIANTS) and not collateral
