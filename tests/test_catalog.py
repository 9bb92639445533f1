"""Prove the grader is right: the catalog of learner code in ``tests/catalog/``.

Every catalogued MISTAKE must lose the points of the function it is written for, and only those: every
other function of its notebook keeps full marks. Every catalogued VARIANT must earn full marks.

Two complementary proofs:

* The SWEEP judges every entry on many seeded draws of the hidden cases (``SWEEP_SEEDS``) with the check
  engine itself, as the grader's verification does: the learner's function beside the reference versions
  of the notebook's other functions, what it returned judged by :func:`autograder.verify.judge_returns`.
  Hidden cases are drawn afresh for every grading run, so one grading proves little about the next: every
  mistake must be caught on every draw, with its ``expect_hint`` every time (so a hint never names a cause
  that a draw contradicts), and every variant accepted on every draw. It also proves that the visible tests
  blame the right function: a mistake in a function that others call fails its own visible examples, and
  the visible test of each caller then says to fix that function first.
* The PIPELINE grades entries as a batch of learners' work is graded, with
  :func:`autograder.batch.grade_batch` on notebooks built from the student notebooks
  (:func:`autograder.submissions.filled`): the kernel, the verification and their agreement. One
  submission carries several entries when they are for *different* functions of the same notebook (the
  grader judges each function on its own, giving it the reference versions of the functions it calls), a
  mistake for one function beside a variant of another. Each notebook gets ``PIPELINE_SLOTS`` submissions,
  so the pipeline grades the first entries of each function: its variants, then its mistakes named in
  ``PIPELINE_FIRST``, then the others in catalog order (the sweep judges them all). Each submission holds
  only the notebook concerned (the others are missing, which costs their points and nothing else), and
  the notebook ends with its last test cell: the exploration cells after it cannot change a score, and
  are the bulk of notebook 03's time.

A mistake's message is SPECIFIC unless it is one of the policy's fallback texts, which only say that a
value differs (see ``GENERIC`` below): "x is wrong: it is larger than expected", "k of n values are wrong
(at ...)", "k of n labels are wrong (at ...)" with nothing after it, and "is off by a constant factor"
(which names no cause). Everything else names a cause or a fix: a hint of the function's check, one of
the policy's diagnoses (sign, factor m, shape, type, None, rounding...), or the learner's own error
(``raised TypeError: ...``). At least ``MIN_SPECIFIC`` of the messages must be specific; an entry's
``expect_hint``, when given, must appear in its message.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import inspect
import io
import multiprocessing
import re
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from catalog import DERIVATIVES, LOGISTIC, NUMPY, Entry
from catalog.mistakes import MISTAKES
from catalog.variants import VARIANTS

from autograder.batch import grade_batch
from autograder.checks import CheckFailure, record_returns
from autograder.grading import Course
from autograder.preprocessors import tested_function
from autograder.reference import reference_code
from autograder.results import FunctionResult, Status, SubmissionRecord
from autograder.submissions import filled, write_submission
from autograder.verify import checks_for, judge_returns

JOBS = 2
NOTEBOOK_TIMEOUT = 120.0  # seconds for one trimmed notebook (they take a few): stops a mistake that never ends
CELL_TIMEOUT = 60
MIN_SPECIFIC = 0.90
SWEEP_SEEDS = 200  # seeded draws of the hidden cases each entry is judged on
MIN_MISTAKES, MIN_VARIANTS = 90, 40
PIPELINE_SLOTS = {NUMPY: 6, DERIVATIVES: 6, LOGISTIC: 8}  # submissions per notebook graded by the pipeline
# mistakes the pipeline grades before the others of their function (each function's first ones are graded):
# one of each way a message is made (an error and its hint, an input changed in place, a hint that needs the
# reference, a diagnosis of the policy)
PIPELINE_FIRST = [
    "01:normalize_rows/no-keepdims", "01:normalize_rows/in-place-on-integers", "01:image2vector/sizes-of-the-example",
    "01:sigmoid/tanh-shaped", "01:softmax/no-keepdims",
    "02:numerical_derivative/no-error-for-an-unknown-method", "02:gradient_descent/slope-at-x0",
    "03:propagate/missing-1-over-m", "03:propagate/forgets-b", "03:propagate/y-minus-a",
    "03:propagate/log-terms-swapped", "03:propagate/dw-without-transpose",
    "03:optimize/changes-the-callers-w", "03:optimize/b-updated-with-dw", "03:optimize/gradients-computed-once",
    "03:predict/threshold-on-z", "03:predict/forgets-b", "03:predict/all-ones",
    "03:model/arguments-out-of-order", "03:model/one-weight-per-example", "03:model/predictions-swapped",
]
REMEMBERED = {"optimize"}  # reference functions that take long (a training loop), computed once per input

GENERIC = (
    re.compile(r" is wrong: it is (larger|smaller) than expected$"),  # a number that differs, nothing more
    re.compile(r"values are wrong \(at [^)]*\)$"),  # an array that differs, nothing more
    re.compile(r"labels are wrong \(at [^)]*\)$"),  # labels that differ, no hint after them
    re.compile(r"is off by a constant factor"),  # a ratio that names no cause
)


def is_generic(message: str) -> bool:
    return any(pattern.search(message) for pattern in GENERIC)


@dataclass
class Submission:
    student: str
    notebook: str
    entries: dict[str, tuple[str, Entry]]  # function -> ("mistake" or "variant", the entry written for it)

    def sources(self) -> dict[str, Entry]:
        return {function: entry for function, (_, entry) in self.entries.items()}


@dataclass
class Graded:
    submissions: list[Submission]
    records: dict[str, SubmissionRecord]
    seconds: float  # building and grading the submissions
    started: float  # time.monotonic() when the fixture started

    def functions(self, submission: Submission) -> dict[str, FunctionResult]:
        record = self.records.get(submission.student)
        notebook = record.notebooks.get(submission.notebook) if record is not None else None
        return notebook.functions if notebook is not None else {}


def plan(mistakes: list[Entry], variants: list[Entry], slots: dict[str, int]) -> list[Submission]:
    """``slots[notebook]`` submissions per notebook: the k-th holds the k-th entry of each function's queue
    (its variants, then its mistakes, in catalog order), so the first entries of every function are graded."""
    queues: dict[str, dict[str, list[tuple[str, Entry]]]] = collections.defaultdict(
        lambda: collections.defaultdict(list))
    first = {key: rank for rank, key in enumerate(PIPELINE_FIRST)}
    mistakes = sorted(mistakes, key=lambda e: first.get(e.key, len(first)))  # stable: catalog order otherwise
    for kind, entries in (("variant", variants), ("mistake", mistakes)):
        for entry in entries:
            queues[entry.notebook][entry.function].append((kind, entry))
    submissions = []
    for notebook, by_function in sorted(queues.items()):
        for k in range(min(slots[notebook], max(len(q) for q in by_function.values()))):
            chosen = {function: q[k] for function, q in by_function.items() if k < len(q)}
            submissions.append(Submission(f"catalog-{notebook[:2]}-{k + 1}", notebook, chosen))
    return submissions


def learner_notebook(notebook: str, entries: dict[str, Entry]):
    """The student notebook with the entries (and the reference elsewhere), ending at its last test cell."""
    nb = filled(notebook, {function: entry.source for function, entry in entries.items()})
    last_test = max(i for i, cell in enumerate(nb.cells) if tested_function(cell))
    nb.cells = nb.cells[: last_test + 1]
    return nb


def test_catalog_is_well_formed():
    names = [e.key for e in MISTAKES] + [e.key for e in VARIANTS]
    assert len(names) == len(set(names)), "entry names must be unique"
    assert set(PIPELINE_FIRST) <= {e.key for e in MISTAKES}, "PIPELINE_FIRST names mistakes of the catalog"
    assert len(MISTAKES) >= MIN_MISTAKES and len(VARIANTS) >= MIN_VARIANTS
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
    submissions = plan(MISTAKES, VARIANTS, PIPELINE_SLOTS)
    folder = root / "submissions"
    for submission in submissions:
        write_submission(folder, submission.student,
                         {submission.notebook: learner_notebook(submission.notebook, submission.sources())})
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
        data = record.notebooks.get(submission.notebook)
        # the only problem allowed: the notebooks left out of the submission are missing
        notes = [note for note in record.reason.split("; ")
                 if note and (submission.notebook in note or "missing" not in note)]
        if record.status not in (Status.GRADED, Status.PROBLEMS) or not data or notes:
            problems.append(f"{submission.student}: {record.status}: {record.reason}")
        elif set(data.functions) != set(checks_for(submission.notebook).functions):
            problems.append(f"{submission.student}: functions graded {sorted(data.functions)}")
    assert not problems, "\n".join(problems)


def _outcomes(graded: Graded, kind: str) -> list[tuple[Entry, FunctionResult | None]]:
    """(entry, its function's result; None when not graded) for every entry of ``kind`` in the pipeline."""
    outcomes = []
    for submission in graded.submissions:
        results = graded.functions(submission)
        outcomes += [(entry, results.get(function)) for function, (k, entry) in submission.entries.items()
                     if k == kind]
    return outcomes


def _collateral(graded: Graded) -> list[str]:
    """Functions that lost points without a mistake of their own in their submission."""
    problems = []
    for submission in graded.submissions:
        mistakes = [f for f, (kind, _) in submission.entries.items() if kind == "mistake"]
        for function, result in graded.functions(submission).items():
            if function not in mistakes and result.score != result.points:
                entry = submission.entries.get(function)
                what = f"the variant {entry[1].key}" if entry else "the reference"
                problems.append(f"{submission.student}: {function} ({what}) lost points (mistakes in this "
                                f"submission: {', '.join(mistakes) or 'none'}): {result.message}")
    return problems


def test_every_mistake_loses_points_where_it_was_made_and_only_there(graded):
    problems = [line for line in _collateral(graded) if "(the variant " not in line]
    for entry, result in _outcomes(graded, "mistake"):
        if not result:
            problems.append(f"{entry.key}: {entry.function} was not graded")
        elif result.score >= result.points:
            problems.append(f"{entry.key}: NOT CAUGHT, {entry.function} kept its points ({result.message})")
        elif result.tampering:
            problems.append(f"{entry.key}: reported as suspected tampering ({result.message})")
    assert not problems, "\n".join(problems)


def test_every_variant_earns_full_marks(graded):
    problems = [line for line in _collateral(graded) if "(the variant " in line]
    problems += [f"{entry.key}: {entry.function} was not graded" for entry, result in _outcomes(graded, "variant")
                 if not result]
    assert not problems, "\n".join(problems)


def test_mistakes_get_specific_messages(graded):
    judged = [(entry, result.message) for entry, result in _outcomes(graded, "mistake")
              if result and not result.passed]
    missing_hints = [f"{entry.key}: expected {entry.expect_hint!r} in: {message}" for entry, message in judged
                     if entry.expect_hint and entry.expect_hint.lower() not in message.lower()]
    generic = [f"{entry.key}: {message}" for entry, message in judged if is_generic(message)]
    share = 1 - len(generic) / max(len(judged), 1)
    print(f"\ngeneric messages ({len(generic)}):" + "".join(f"\n  {line}" for line in generic))
    assert not missing_hints, "\n".join(missing_hints)
    assert share >= MIN_SPECIFIC, f"only {share:.0%} of the mistakes get a specific message"


def test_summary(graded):
    """Print the pipeline's rates (run with -s to see them); the tests above assert them."""
    mistakes, variants, collateral = _outcomes(graded, "mistake"), _outcomes(graded, "variant"), _collateral(graded)
    killed = sum(1 for _, result in mistakes if result and result.score < result.points)
    specific = [r.message for _, r in mistakes if r and not r.passed and not is_generic(r.message)]
    errors = sum(1 for message in specific if re.search(r"\) raised \w+", message))
    accepted = sum(1 for _, r in variants if r and r.score == r.points)
    notebooks = collections.Counter(s.notebook[:2] for s in graded.submissions)
    print("\n" + "\n".join([
        f"pipeline: {len(mistakes)} of {len(MISTAKES)} mistakes and {len(variants)} of {len(VARIANTS)} variants, "
        f"in {len(graded.submissions)} submissions ({', '.join(f'{n}: {c}' for n, c in sorted(notebooks.items()))})",
        f"kill rate:       {killed}/{len(mistakes)} = {killed / len(mistakes):.0%} "
        f"(collateral losses in other functions: {len(collateral)})",
        f"acceptance rate: {accepted}/{len(variants)} = {accepted / len(variants):.0%}",
        f"specific:        {len(specific)}/{len(mistakes)} = {len(specific) / len(mistakes):.0%} "
        f"({errors} of them the learner's own error message)",
        f"wall time:       grading {graded.seconds:.0f} s, whole module {time.monotonic() - graded.started:.0f} s "
        f"(jobs={JOBS})",
    ]))
    assert killed == len(mistakes) and accepted == len(variants) and not collateral


# -- the sweep: every entry on many draws, with the check engine directly ------------------------------
def _fingerprint(value) -> object:
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_fingerprint(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _fingerprint(v)) for k, v in sorted(value.items())))
    return (type(value).__name__, repr(value))


def _remembered(function):
    """``function`` (a reference function: deterministic) computing each distinct call once, for the sweep:
    many entries call it on the same inputs (a model calls optimize on the training set). Copies out."""
    results = {}
    signature = inspect.signature(function)

    @functools.wraps(function)
    def remembered(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return function(*args, **kwargs)  # a wrong call: let it fail as it would
        bound.apply_defaults()
        key = _fingerprint(dict(bound.arguments))
        if key not in results:
            results[key] = function(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        return copy.deepcopy(results[key])

    return remembered


@functools.cache
def _reference_namespace(notebook: str) -> dict:
    """The solution notebook's imports and functions, as the grader gives them to a function it verifies
    (the slow ones remembering their results: see :func:`_remembered`)."""
    namespace = {"__name__": "__learner__"}
    exec(compile(reference_code(notebook).functions_source(), "<reference>", "exec"), namespace)
    for name in REMEMBERED & set(namespace):
        namespace[name] = _remembered(namespace[name])
    return namespace


def _learner_function(entry: Entry, fresh: bool = False):
    """The entry's function, defined beside the reference versions of the notebook's other functions."""
    if fresh:  # the reference functions themselves see the entry (a caller of the entry's function)
        namespace = {"__name__": "__learner__"}
        exec(compile(reference_code(entry.notebook).functions_source(), "<reference>", "exec"), namespace)
    else:
        namespace = dict(_reference_namespace(entry.notebook))
    exec(compile(entry.source, "<your notebook>", "exec"), namespace)
    return namespace


@functools.cache
def _drawn(notebook: str, function: str, seed: int):
    return checks_for(notebook).fresh_cases(function, seed=seed)


def _judge_draw(entry: Entry, fn, seed: int, every_case: bool) -> str | None:
    """The grader's message for ``fn`` on the hidden cases of draw ``seed`` (None: it passed).

    Cases are judged in order and the first failure is the message, as the grader does; a mistake stops
    there, a variant is judged on every case.
    """
    cases = _drawn(entry.notebook, entry.function, seed)
    if every_case:
        verdict = judge_returns(entry.notebook, entry.function, cases, record_returns(cases, fn), "hidden test")
        return None if verdict.passed else verdict.message
    for case in cases:
        verdict = judge_returns(entry.notebook, entry.function, [case], record_returns([case], fn), "hidden test")
        if not verdict.passed:
            return verdict.message
    return None


def _sweep_function(task: tuple[str, str, list[tuple[str, Entry]]]) -> dict[str, list[str | None]]:
    """Judge the entries written for one function on every draw: {entry key: message per seed}."""
    _, _, entries = task
    results = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for kind, entry in entries:
            fn = _learner_function(entry)[entry.function]
            results[f"{kind}:{entry.key}"] = [_judge_draw(entry, fn, seed, every_case=kind == "variant")
                                              for seed in range(SWEEP_SEEDS)]
    return results


@pytest.fixture(scope="module")
def sweep() -> dict[str, list[str | None]]:
    """Every entry judged on SWEEP_SEEDS draws, one task per function, on JOBS processes."""
    by_function: dict[tuple[str, str], list[tuple[str, Entry]]] = collections.defaultdict(list)
    for kind, entries in (("mistake", MISTAKES), ("variant", VARIANTS)):
        for entry in entries:
            by_function[entry.notebook, entry.function].append((kind, entry))
    # the long ones first (training loops), so that the two processes finish together
    slow = {"optimize": 0, "model": 1}
    tasks = sorted(((nb, fn, entries) for (nb, fn), entries in by_function.items()),
                   key=lambda t: (slow.get(t[1], 2), -len(t[2])))
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(JOBS) as pool:
        results = {}
        for part in pool.imap_unordered(_sweep_function, tasks):
            results.update(part)
    print(f"\nsweep: {len(MISTAKES) + len(VARIANTS)} entries x {SWEEP_SEEDS} draws in "
          f"{time.monotonic() - started:.0f} s")
    return results


def test_every_mistake_is_caught_on_every_draw(sweep):
    escaped = {entry.key: [seed for seed, message in enumerate(sweep[f"mistake:{entry.key}"]) if message is None]
               for entry in MISTAKES}
    problems = [f"{key}: escaped {len(seeds)} of {SWEEP_SEEDS} draws (seeds {seeds[:5]})"
                for key, seeds in escaped.items() if seeds]
    assert not problems, "\n".join(problems)


def test_every_variant_is_accepted_on_every_draw(sweep):
    problems = []
    for entry in VARIANTS:
        refused = [(seed, message) for seed, message in enumerate(sweep[f"variant:{entry.key}"]) if message]
        if refused:
            problems.append(f"{entry.key}: refused on {len(refused)} of {SWEEP_SEEDS} draws, "
                            f"e.g. seed {refused[0][0]}: {refused[0][1]}")
    assert not problems, "\n".join(problems)


def test_hints_hold_on_every_draw(sweep):
    """A hint names the cause on every draw, never a wrong one: expect_hint is in every message."""
    problems = []
    for entry in MISTAKES:
        if not entry.expect_hint:
            continue
        off = [(seed, message) for seed, message in enumerate(sweep[f"mistake:{entry.key}"])
               if message is not None and entry.expect_hint.lower() not in message.lower()]
        if off:
            problems.append(f"{entry.key}: {entry.expect_hint!r} missing on {len(off)} of {SWEEP_SEEDS} draws, "
                            f"e.g. seed {off[0][0]}: {off[0][1]}")
    assert not problems, "\n".join(problems)


def test_sweep_summary(sweep):
    """The rates over every draw (run with -s to see them); each must be 100 %, and specific >= MIN_SPECIFIC."""
    messages = [m for entry in MISTAKES for m in sweep[f"mistake:{entry.key}"]]
    caught = [m for m in messages if m is not None]
    specific = [m for m in caught if not is_generic(m)]
    accepted = sum(m is None for entry in VARIANTS for m in sweep[f"variant:{entry.key}"])
    draws = len(VARIANTS) * SWEEP_SEEDS
    always_specific = sum(all(m is not None and not is_generic(m) for m in sweep[f"mistake:{e.key}"])
                          for e in MISTAKES)
    print("\n" + "\n".join([
        f"sweep over {SWEEP_SEEDS} draws: {len(MISTAKES)} mistakes, {len(VARIANTS)} variants",
        f"kill on every draw:       {len(caught)}/{len(messages)} = {len(caught) / len(messages):.1%}",
        f"acceptance on every draw: {accepted}/{draws} = {accepted / draws:.1%}",
        f"specific messages:        {len(specific)}/{len(messages)} = {len(specific) / len(messages):.1%} "
        f"({always_specific} of {len(MISTAKES)} mistakes specific on every draw)",
    ]))
    assert len(specific) / len(messages) >= MIN_SPECIFIC


# -- visible tests blame the function that is wrong ----------------------------------------------------
def _callers(notebook: str, function: str) -> list[str]:
    checks = checks_for(notebook)
    return [name for name in checks.functions if function in checks.callees(name)]


CALLED_MISTAKES = [entry for entry in MISTAKES if _callers(entry.notebook, entry.function)]


@pytest.mark.parametrize("entry", CALLED_MISTAKES, ids=lambda e: e.key)
def test_a_mistake_in_a_called_function_is_blamed_by_its_callers_visible_tests(entry):
    """The mistake fails its own visible test, and every caller's visible test says to fix it first."""
    checks = checks_for(entry.notebook)
    with warnings.catch_warnings(), np.errstate(all="ignore"), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        namespace = _learner_function(entry, fresh=True)
        with pytest.raises(Exception) as own:  # noqa: PT011  (a CheckFailure, or the learner's own error)
            checks.visible(entry.function, namespace[entry.function])
        for caller in _callers(entry.notebook, entry.function):
            with pytest.raises(CheckFailure, match=f"fix {entry.function} above first"):
                checks.visible(caller, namespace[caller])
        assert own.value is not None
