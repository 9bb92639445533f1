"""What the grader tells people: a progress bar, the batch summary, feedback pages and grades.csv."""

from __future__ import annotations

import collections
import csv
import html
import math
import sys
import textwrap
import time
from pathlib import Path

from .course import ASSIGNMENT, NOTEBOOK_NAMES
from .results import Curve, SubmissionRecord


class Progress:
    """A one-line progress bar with an ETA on standard error."""

    def __init__(self, total: int, quiet: bool = False):
        self.total, self.done, self.quiet, self.started = total, 0, quiet, time.monotonic()
        self._draw("")

    def step(self, student: str, status: str) -> None:
        self.done += 1
        self._draw(f"{student}: {status}")

    def _draw(self, last: str) -> None:
        if self.quiet:
            return
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        filled = int(30 * self.done / max(self.total, 1))
        eta_text = f"ETA {eta:4.0f} s" if self.done else "ETA    ? s"
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                         f"{elapsed:5.0f} s {eta_text}  {last[:40]:<40}")
        sys.stderr.flush()

    def close(self) -> None:
        if not self.quiet:
            sys.stderr.write("\n")


def summary(records: dict[str, SubmissionRecord], scores: dict[str, dict]) -> str:
    """The text printed after a batch: per student, per function, and the slowest submissions."""
    lines = ["", "Per student", f"  {'student':<16} {'score':>9}  status"]
    for student in sorted(scores):
        record = records.get(student)
        score = scores[student]
        status = record.status.value if record else "?"
        late = f" (late: {score['raw']:g} less a penalty of {score['penalty']:g})" if score.get("penalty") else (
            " (late, no penalty)" if score.get("late") else "")
        lines.append(f"  {student:<16} {score['total']:>4g}/{score['max']:<4g}  {status}{late}")
        for reason in (record.reason if record else "").split("; "):  # wrapped, never cut: the end says what to do
            if reason:
                lines += textwrap.wrap(reason, width=110, initial_indent=f"{'':<31}- ", subsequent_indent=" " * 33)
    failures: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    passes: collections.Counter = collections.Counter()
    counts: collections.Counter = collections.Counter()
    for record in records.values():
        for notebook, data in record.notebooks.items():
            for function, result in data.functions.items():
                key = f"{notebook[:2]}:{function}"
                counts[key] += 1
                if result.passed:
                    passes[key] += 1
                else:
                    failures[key][_shorten(result.message)] += 1
    lines += ["", "Per function", f"  {'function':<28} {'passed':>7}  most common failure"]
    for key in sorted(counts):
        common = failures[key].most_common(1)
        text = f"{common[0][0]} ({common[0][1]}x)" if common else ""
        lines.append(f"  {key:<28} {passes[key]:>3}/{counts[key]:<3}  {text[:90]}")
    timed = sorted(((r.seconds, s) for s, r in records.items()), reverse=True)[:3]
    lines += ["", "Slowest submissions"] + [f"  {s:<16} {t:6.1f} s" for t, s in timed]
    return "\n".join(lines)


def _shorten(message: str) -> str:
    return message.split(": ", 1)[-1] if message.startswith(tuple("abcdefghijklmnopqrstuvwxyz_")) else message


def export_csv(records: dict[str, SubmissionRecord], scores: dict[str, dict], path: Path) -> Path:
    """``grades.csv``: one row per student with points per graded function, total, status and reason.

    ``total`` is after the late penalty, as nbgrader's own export: ``raw_total`` less ``late_penalty``.
    """
    columns = sorted({key for score in scores.values() for key in score["cells"]})
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["student", *columns, "raw_total", "late", "late_penalty", "total", "max", "status", "reason",
                         "tests_version", "graded_at", "sandbox"])
        for student in sorted(scores):
            score, record = scores[student], records.get(student)
            about = [record.status.value, record.reason, record.tests_version, record.graded_at,
                     _sandbox(record)] if record else ["", "", "", "", ""]
            writer.writerow([student, *(_points(score["cells"].get(c)) for c in columns),
                             _points(score.get("raw", score["total"])), "yes" if score.get("late") else "no",
                             _points(score.get("penalty", 0.0)), _points(score["total"]), _points(score["max"]),
                             *about])
    return path


def _sandbox(record: SubmissionRecord) -> str:
    """How the student's code was isolated: "os" (bubblewrap), or "none (--unsandboxed)"."""
    return "os" if record.sandboxed else "none (--unsandboxed)"


def _points(value) -> str:
    return "" if value is None else f"{float(value):g}"


def feedback_html(record: SubmissionRecord, score: dict) -> str:
    """A learner's feedback page: each test's points and message, never the hidden tests or their inputs."""
    esc = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Feedback for {esc(record.student)}"
             "</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
             ".pass{color:#176b1b}.fail{color:#a31515}img{max-width:100%}</style></head><body>",
             f"<h1>Feedback: {esc(ASSIGNMENT)}</h1><p>Student <b>{esc(record.student)}</b>: "
             f"<b>{score['total']:g} / {score['max']:g}</b> points. Status: {esc(record.status.value)}.</p>"]
    if score.get("late"):
        parts.append(f"<p class='fail'>Submitted after the due date: {score.get('penalty', 0.0):g} points taken off "
                     f"the {score.get('raw', score['total']):g} your work earned.</p>")
    if score.get("manual"):
        count = len(score["manual"])
        parts.append(f"<p>{count} of these grades {'was' if count == 1 else 'were'} set by your instructor (marked "
                     f"<i>manual grade</i> below) and count in the total.</p>")
    if record.reason:
        notes = "".join(f"<li>{esc(note)}</li>" for note in record.reason.split("; ") if note)
        parts.append(f"<p>Notes:</p><ul>{notes}</ul>")
    for notebook in NOTEBOOK_NAMES:
        data = record.notebooks.get(notebook)
        parts.append(f"<h2>{esc(notebook)}</h2>")
        if data is None:
            parts.append("<p class='fail'>This notebook was not graded (see the notes above).</p>")
            continue
        parts.append("<table><tr><th>function</th><th>points</th><th>result</th></tr>")
        for function, result in data.functions.items():
            css = "pass" if result.passed else "fail"
            key = f"{notebook[:2]}:{function}"
            points = score.get("cells", {}).get(key)  # the gradebook's: manual grades and extra credit too
            points = result.score if points is None else points
            by_hand = key in score["manual"] if "manual" in score else points != result.score
            manual = (f" (manual grade)<br><small>autograded: {result.score:g}</small>" if by_hand else "")
            comment = score.get("comments", {}).get(key)
            said = f"<br><b>Your instructor:</b> {esc(comment)}" if comment else ""
            parts.append(f"<tr><td><code>{esc(function)}</code></td><td>{points:g} / {result.points:g}{manual}"
                         f"</td><td class='{css}'>{esc(result.message)}{said}</td></tr>")
        parts.append("</table>")
        curve = data.curve
        picture = curve_png(curve)
        if curve is not None and picture:
            model = data.functions.get(curve.function)
            ran = model is None or model.ran
            how = "produced" if ran else "produces when run on its own (your notebook stopped before it ran)"
            parts.append(f"<p>The cost curve your <code>{esc(curve.function)}</code> {how} on "
                         f"{esc(curve.about or 'a grading case')}, with the reference solution's dashed over it "
                         f"(not scored):</p><img alt='cost curve' src='data:image/png;base64,{picture}'>")
        if curve is not None and curve.problem:
            parts.append(f"<p class='fail'>No cost curve: {esc(curve.problem)}.</p>")
    parts.append(f"<p><small>Graded {esc(record.graded_at)} with tests version "
                 f"{esc(record.tests_version)}.</small></p></body></html>")
    return "\n".join(parts)


def curve_png(curve: Curve | None) -> str | None:
    """The feedback page's picture (base64 PNG): the learner's cost curve over the reference's.

    None when there is nothing to draw, or when the learner's costs cannot be drawn (the picture is
    never worth a notebook's score). Never raises. matplotlib is imported only when a picture is drawn.
    """
    if curve is None or not curve.reference or not curve.yours:
        return None
    try:
        return _draw_curve(curve)
    except Exception:  # costs matplotlib cannot draw (huge or non-finite values)
        return None


def _draw_curve(curve: Curve) -> str:
    import base64
    import io

    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.2), dpi=100)
    axes = figure.add_subplot()
    every = curve.every
    reference = curve.reference
    yours = [cost if math.isfinite(cost) and abs(cost) < 1e6 else float("nan") for cost in curve.yours]
    axes.plot([i * every for i in range(len(yours))], yours, color="#1f5fa8", linewidth=3, label="your model")
    # dashed and on top, so it stays visible where the two curves are the same
    axes.plot([i * every for i in range(len(reference))], reference, color="#d95f02", linestyle="--", linewidth=1.5,
              label="reference solution")
    axes.set_title("Cost during training")
    axes.set_xlabel("iterations")
    axes.set_ylabel("cost J (cross-entropy)")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


def write_feedback(records: dict[str, SubmissionRecord], scores: dict[str, dict], feedback_dir: Path) -> list[Path]:
    written = []
    for student, record in sorted(records.items()):
        if student not in scores:
            continue
        path = feedback_dir / student / ASSIGNMENT / "feedback.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(feedback_html(record, scores[student]))
        written.append(path)
    return written
