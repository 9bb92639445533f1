"""Warm kernels: is a kernel forked from a submission's template as fresh as a kernel started from nothing?

The first kernel forked from a template leaves every trace it can: globals, a monkeypatched numpy and
builtins, changed matplotlib settings, environment and module table, files (hidden, in a folder it made
unreadable), a background thread that keeps writing a file, and a process that outlives it (planted in
its sandbox from outside, as root, since its guard refuses to start one). The next kernel, forked from
the same template for the same submission, must see none of them, and find only its own notebook's
files. The same holds from one student to the next: a job slot's template, handed from one submission's
grading to the next, shows the second student nothing of the first, and cleans up once more between
them. A grading process never hands its template to another submission, and a template cleans up
after a process tree on its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import nbformat
import pytest
from conftest import require_component

from autograder import sandbox, verify
from autograder.preprocessors import SandboxedExecute
from autograder.preprocessors.cells import findings
from autograder.sandbox import Limits, Sandbox, warm

MARKER = f"4711{os.getpid()}"  # the argument of the process the first kernel leaves behind


@pytest.fixture(autouse=True)
def _needs_bubblewrap():
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")
    yield
    warm.close_submission_template()
    verify.close_submission_verifier()


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(source)) for source in sources]
    return nb


def _execute(nb, build: Path, student: str = "ada"):
    execute = SandboxedExecute(timeout=120, notebook_timeout=300)
    assert execute.warm_kernels
    resources = {"metadata": {"path": str(build)},
                 "nbgrader": {"notebook": "probe", "student": student, "assignment": "logistic_regression"}}
    nb, resources = execute.preprocess(nb, resources)
    return nb, resources


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream") + "".join(
        f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error")


LEAVE_TRACES = """
    import builtins, os, sys, threading, time
    import matplotlib, numpy as np
    LEAKED_GLOBAL = "from the first kernel"
    np.sum = lambda *args, **kwargs: 42
    np.random.seed(7)
    builtins.leaked_builtin = True
    matplotlib.rcParams["lines.linewidth"] = 99
    os.environ["LEAKED_VARIABLE"] = "1"
    sys.path.append("/leaked")
    sys.modules["leaked_module"] = object()
    open("leaked.txt", "w").write("x")
    open(".leaked-hidden", "w").write("x")
    os.makedirs("leaked-folder/deeper")
    open("leaked-folder/deeper/file.txt", "w").write("x")
    os.chmod("leaked-folder/deeper", 0)
    os.chmod("leaked-folder", 0)

    def keep_writing():
        while True:
            with open("from-thread.txt", "a") as stream:
                stream.write(".")
            time.sleep(0.01)

    threading.Thread(target=keep_writing, daemon=True, name="leaked-thread").start()
    time.sleep(0.1)
    print("traces left:", sorted(os.listdir(".")))
"""

WAIT_FOR_PLANTED = f"""
    import os, time
    deadline = time.monotonic() + 90
    def planted():
        for pid in os.listdir("/proc"):
            try:
                if pid.isdigit() and "{MARKER}" in open(f"/proc/{{pid}}/cmdline").read():
                    return True
            except OSError:
                pass
        return False
    while not planted() and time.monotonic() < deadline:
        open("ready-for-plant.txt", "w").close()
        time.sleep(0.1)
    print("planted process seen:", planted())
"""

PROBE = f"""
    import builtins, os, sys, threading, time
    import matplotlib, numpy as np
    time.sleep(0.3)  # a thread of the first kernel, were it alive, would write meanwhile
    processes = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and "{MARKER}" in open(f"/proc/{{pid}}/cmdline").read():
                processes.append(pid)
        except OSError:
            pass
    seen = {{
        "global": "LEAKED_GLOBAL" in globals(),
        "numpy.sum": np.sum([1, 2]) != 3,
        "numpy seed": np.random.get_state()[1][0] == np.random.RandomState(7).get_state()[1][0],
        "builtin": hasattr(builtins, "leaked_builtin"),
        "rcParams": matplotlib.rcParams["lines.linewidth"] == 99,
        "environment": "LEAKED_VARIABLE" in os.environ,
        "sys.path": "/leaked" in sys.path,
        "sys.modules": "leaked_module" in sys.modules,
        "threads": [t.name for t in threading.enumerate() if t.name == "leaked-thread"],
        "processes": processes,
        "files": sorted(f for f in os.listdir(".") if f not in (".ipython", ".matplotlib")),
    }}
    print("SEEN", {{k: v for k, v in seen.items() if v}})
"""


def _template_python(template: warm.KernelTemplate) -> int:
    """The host pid of the template's Python (inside the sandbox's namespaces)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            if b"autograder.sandbox.kernel" in argv and str(template.scratch).encode() in argv and \
                    status.split("NSpid:")[1].split("\n")[0].split()[-1] == "2":
                return int(entry)
        time.sleep(0.05)
    raise AssertionError("the template's process was not found")


def _plant_a_process(template: warm.KernelTemplate, done: list) -> None:
    """As root, start `setsid sleep MARKER` inside the template's sandbox, as the kernel's user, once the first
    kernel waits for it: what a kernel that got past its guard could leave behind."""
    try:
        host_pid = _template_python(template)
        ready = Path(f"/proc/{host_pid}/root{template.scratch}/ready-for-plant.txt")
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        user = str(template.owner or os.getuid())
        subprocess.run(["nsenter", "-t", str(host_pid), "-m", "-p", "-n", "-i", "-u", "-r", "-w", "-S", user,
                        "-G", user, "--", "setsid", "-f", "sleep", MARKER], check=True, timeout=30,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done.append(True)
    except Exception as exc:  # reported by the test
        done.append(exc)


def _marker_processes() -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if Path(f"/proc/{entry}/cmdline").read_bytes() == f"sleep\0{MARKER}\0".encode():
                found.append(entry)
        except OSError:
            pass
    return found


def test_the_next_kernel_forked_from_the_template_sees_nothing_of_the_last(tmp_path):
    build = tmp_path / "build"  # the submission's folder, as nbgrader's autograde leaves it for each notebook
    build.mkdir()
    (build / "first-notebook.txt").write_text("a file of the submission's when its first notebook runs")
    plant = os.geteuid() == 0 and bool(subprocess.run(["which", "nsenter"], capture_output=True).stdout)

    cells = [LEAVE_TRACES] + ([WAIT_FOR_PLANTED] if plant else [])
    template_holder = warm.submission_template(Limits(3072, 1800), True, None)  # the one the grading process prestarts
    planted: list = []
    planter = threading.Thread(target=_plant_a_process, args=(template_holder, planted)) if plant else None
    if planter:
        planter.start()
    nb, _ = _execute(_notebook(*cells), build)
    if planter:
        planter.join(timeout=120)
    assert "traces left" in _printed(nb.cells[0]) and "leaked-folder" in _printed(nb.cells[0]), _printed(nb.cells[0])
    if plant:
        assert planted == [True], planted
        assert "planted process seen: True" in _printed(nb.cells[1]), _printed(nb.cells[1])
    template = warm._current
    assert template is template_holder and template.forked == 1

    (build / "first-notebook.txt").unlink()
    (build / "second-notebook.txt").write_text("the file its second notebook finds")
    nb, _ = _execute(_notebook(PROBE), build)
    assert warm._current is template and template.forked == 2, "the second kernel must come from the same template"
    printed = _printed(nb.cells[0])
    assert "SEEN {'files': ['second-notebook.txt']}" in printed, printed
    assert _marker_processes() == []


def test_a_grading_process_never_hands_its_template_to_another_submission(tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    nb, _ = _execute(_notebook("print('ada', 1)"), build, student="ada")
    first = warm._current
    nb, _ = _execute(_notebook("print('ben', 2)"), build, student="ben")
    assert warm._current is not first and first.ended() is not None and warm._current.forked == 1
    assert "ben 2" in _printed(nb.cells[0])


def test_the_checks_run_in_the_template_between_kernels(tmp_path):
    """VerifyFunctions' jobs run in the submission's template once its kernel is gone, each in a child of its own."""
    from autograder.notebook_code import read_code
    from autograder.submissions import filled

    name = "01_numpy_and_vectorization"
    build = tmp_path / "build"
    build.mkdir()
    _execute(_notebook("x = 1"), build)
    verifier = verify.submission_verifier(True)
    assert verifier._template is warm._current
    verdicts = verify.verify_notebook(filled(name), name, verifier=verifier, learner=read_code(filled(name)))
    assert all(v.passed for v in verdicts.values()), verdicts
    assert verifier._costs["template_jobs"] == len(verdicts) and verifier._process is None


def test_cleaning_up_kills_a_whole_process_tree_and_empties_scratch(tmp_path):
    """forking.clean on its own, with no guard: what a child that started processes would leave."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = textwrap.dedent(f"""
        import os, subprocess, sys, time
        from autograder.sandbox.forking import clean
        child = os.fork()
        if child == 0:
            os.setsid()
            subprocess.Popen(["setsid", "sleep", "{MARKER}"])
            subprocess.Popen(["sh", "-c", "sleep {MARKER} & sleep {MARKER}"])
            os.makedirs("locked/inside")
            os.chmod("locked", 0)
            open(".hidden", "w").close()
            time.sleep(1000)
        time.sleep(1)
        print("before", len([p for p in os.listdir("/proc") if p.isdigit()]) > 3, sorted(os.listdir(".")))
        print("clean", clean(child, os.getcwd(), True))
        def alive(pid):  # (a zombie is gone: it only waits for the sandbox's init to collect it)
            try:
                return open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
            except OSError:
                return False
        print("after", sorted(p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())
                              and alive(p)), os.listdir("."))
    """)
    box = Sandbox(Limits(memory_mb=512, cpu_seconds=60), scratch=scratch)
    try:
        result = subprocess.run(box.command([sys.executable, "-c", code]), capture_output=True, text=True,
                                timeout=120, cwd=scratch)
    finally:
        box.close()
    assert "clean True" in result.stdout and "after [] []" in result.stdout, result.stdout + result.stderr
    assert _marker_processes() == []


def test_a_kernel_that_ends_itself_is_known_dead_and_the_next_one_starts(tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    nb, resources = _execute(_notebook("x = 1", "import os\nos._exit(0)", "print('never')"), build)
    statuses = [cell.status.value for cell in findings(resources)["cells"].values()]
    assert statuses == ["ok", "kernel died", "not run"], statuses
    assert "the kernel died" in findings(resources)["stopped"]
    nb, resources = _execute(_notebook("print('alive', 2)"), build)
    assert "alive 2" in _printed(nb.cells[0]) and warm._current.forked == 2


def _plant_in(template: warm.KernelTemplate, *command: str) -> None:
    """As root, run ``command`` inside the template's sandbox as its kernels' user (what got past a guard)."""
    user = str(template.owner or os.getuid())
    subprocess.run(["nsenter", "-t", str(_template_python(template)), "-m", "-p", "-n", "-i", "-u", "-r", "-w", "-S",
                    user, "-G", user, "--", *command], check=True, timeout=30, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_between_two_submissions_the_slot_template_leaves_nothing_of_the_first(tmp_path):
    """What a warm worker does between two submissions (take_back_template): a process and files left in the
    template's sandbox after the first submission's kernels are gone, and the template is clean again."""
    if os.geteuid() != 0 or not subprocess.run(["which", "nsenter"], capture_output=True).stdout:
        pytest.skip("planting a process inside the sandbox needs root and nsenter (util-linux)")
    build = tmp_path / "build"
    build.mkdir()
    warm.slot_template(Limits(3072, 1800), True)
    slot = warm._current
    _execute(_notebook("x = 1"), build, student="ada")
    assert warm._current is slot
    _plant_in(slot, "setsid", "-f", "sleep", MARKER)
    _plant_in(slot, "sh", "-c", f"echo left > {slot.scratch}/left-by-ada.txt")
    assert _marker_processes() != []
    slot.owner_key = None  # as the warm worker sees it: its own copy was never claimed
    warm.take_back_template(graded=True)
    assert warm._current is slot and slot.usable, "a clean template is kept for the next submission"
    assert _marker_processes() == []
    nb, _ = _execute(_notebook("import os\nprint('FILES', sorted(os.listdir('.')))"), build, student="ben")
    assert warm._current is slot and slot.forked == 2
    assert "left-by-ada.txt" not in _printed(nb.cells[0]) and "FILES" in _printed(nb.cells[0])


def test_a_slot_template_is_not_handed_on_after_a_grading_that_did_not_end_normally(tmp_path):
    warm.slot_template(Limits(3072, 1800), True)
    slot = warm._current
    warm.take_back_template(graded=False)
    assert warm._current is None and slot.ended() is not None


def test_the_next_student_sees_nothing_of_the_last_in_a_batch_of_one_job_slot(tmp_path, monkeypatch):
    """Two students graded one after another by one warm worker, whose kernels come from the same template: each
    one's first notebook probes for traces first and leaves every trace it can last. Neither sees the other's."""
    from autograder.batch import grade_batch
    from autograder.course import ASSIGNMENT
    from autograder.grading import Course
    from autograder.submissions import filled, write_submission

    name = "01_numpy_and_vectorization"
    for student in ("amy", "bob"):
        nb = filled(name)
        nb.cells.insert(1, nbformat.v4.new_code_cell(textwrap.dedent(PROBE), id="probe"))
        nb.cells.append(nbformat.v4.new_code_cell(textwrap.dedent(LEAVE_TRACES), id="traces"))
        others = ("02_derivatives_and_gradient_descent", "03_logistic_regression_with_a_neural_network_mindset")
        write_submission(tmp_path / "subs", student, {name: nb, **{other: filled(other) for other in others}})
    timings = tmp_path / "timings.jsonl"
    monkeypatch.setenv("COURSE_TIMINGS", str(timings))
    course = Course(tmp_path / "course")
    outcomes = grade_batch(course, tmp_path / "subs", jobs=1, quiet=True)
    assert [(o.student, o.status.value) for o in outcomes] == [("amy", "graded"), ("bob", "graded")], outcomes
    import json

    templates = [json.loads(line) for line in timings.read_text().splitlines()]
    templates = [r for r in templates if r["kind"] == "kernel template" and r["kernels"]]
    assert [bool(r["template_cpu"]) for r in templates] == [True, False], (
        "the second student's kernels must come from the template the first one's came from", templates)
    for student in ("amy", "bob"):
        graded = nbformat.read(course.autograded / student / ASSIGNMENT / f"{name}.ipynb", as_version=4)
        probe = next(_printed(c) for c in graded.cells if c.get("id") == "probe")
        traces = next(_printed(c) for c in graded.cells if c.get("id") == "traces")
        assert "traces left" in traces and "leaked-folder" in traces, traces
        seen = probe.split("SEEN ", 1)[1]
        assert seen.startswith("{") and "leaked" not in seen and "from-thread" not in seen, probe
        assert set(eval(seen.strip())) <= {"files"}, probe  # noqa: S307  (a dict this test's probe printed)


WRITE_EVERYWHERE = """
    import os, stat
    wrote = []
    for descriptor in range(1024):
        try:
            mode = os.fstat(descriptor).st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
            try:
                os.write(descriptor, b"LEFT-FOR-THE-LOG\\n")
                wrote.append(descriptor)
            except OSError:
                pass
    print("wrote to", len(wrote), "descriptors")
"""


def test_nothing_a_kernel_writes_to_its_descriptors_reaches_the_templates_log(tmp_path, capfd):
    """The template's stderr is the grader's log, shared by the job slot's next submissions: a learner who writes to
    every descriptor the kernel has (ipykernel keeps a copy of the original stderr) must not reach it."""
    build = tmp_path / "build"
    build.mkdir()
    nb, _ = _execute(_notebook(WRITE_EVERYWHERE), build)
    assert "wrote to" in _printed(nb.cells[0]), _printed(nb.cells[0])
    # and a check of the learner's function, in a child of the same template, whose function does the same
    from autograder.notebook_code import read_code
    from autograder.submissions import filled

    name = "01_numpy_and_vectorization"
    body = textwrap.indent(textwrap.dedent(WRITE_EVERYWHERE), "    ")
    sigmoid = f"import numpy as np\n\ndef sigmoid(x):\n{body}    return 1 / (1 + np.exp(-x))\n"
    learner = filled(name, {"sigmoid": sigmoid})
    verifier = verify.submission_verifier(True)
    verdicts = verify.verify_notebook(learner, name, verifier=verifier, learner=read_code(learner))
    # (its result pipe is among them: its own check fails, as any learner's code that corrupts it makes it)
    assert "sigmoid" in verdicts and verifier._costs["template_jobs"] >= 1, verdicts
    warm.close_submission_template()
    captured = capfd.readouterr()
    assert "LEFT-FOR-THE-LOG" not in captured.err + captured.out
