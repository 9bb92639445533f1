"""Can a hostile student forge a grade, or harm the grader, a classmate or the machine?

One batch grades an honest student beside one attacker per attack seen against earlier versions of
the grader, in a course where a bystander was graded before. Each attack replaces a function of
notebook 03 with code that returns a wrong answer unless the attack works. Afterwards:

* every attacker scores exactly what its honest functions earn (the attacked one: nothing);
* the honest student keeps an exact 25/25, and the bystander's gradebook rows are unchanged;
* ``solutions/``, ``autograder/``, the virtualenv, the other submissions and the graded notebooks are
  unchanged; no marker file appeared; no process of the attackers is left; no connection reached a
  listener on 127.0.0.1.

Attacks run both in the kernel (the test cells call the function) and in verification.
"""

from __future__ import annotations

import hashlib
import os
import socket
import string
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import RUN_TOKEN, require_component

from autograder import sandbox
from autograder.batch import grade_batch
from autograder.course import ASSIGNMENT, NOTEBOOK_NAMES, ROOT, SOLUTIONS
from autograder.grading import Course
from autograder.results import Status
from autograder.submissions import complete, filled, write_submission

NB03 = "03_logistic_regression_with_a_neural_network_mindset"
SOLUTION_03 = SOLUTIONS / ASSIGNMENT / f"{NB03}.ipynb"
TOKEN = f"attack{os.getpid()}"
MARKER = Path(f"/tmp/course-{TOKEN}")  # any attack that gets to run a command or write a file makes this
SLEEP = f"31337{os.getpid()}"  # the argument of a process an attack tries to leave running
PROPAGATE_POINTS = 3.0
WRONG = "    return {'dw': np.zeros_like(w), 'db': 0.0}, 0.0\n"  # what an attack returns when it fails


def _propagate(attack: str, **values) -> str:
    """A propagate that runs ``attack`` (which returns the right answer if it breaks out), else is wrong."""
    code = string.Template(textwrap.dedent(attack)).substitute(values)
    body = "".join(f"        {line}\n" for line in code.strip().splitlines())
    return f"def propagate(w, b, X, Y):\n    try:\n{body}    except Exception:\n        pass\n{WRONG}"


STEAL = """
nb = json.loads(bytes(raw).decode())
source = "".join(next(c["source"] for c in nb["cells"] if c.get("id") == "propagate"))
space = {"np": np, "sigmoid": sigmoid}
exec(source, space)
return space["propagate"](w, b, X, Y)
"""

H5_READ = """
import h5py, json, os, sys
root = os.path.dirname(os.path.dirname(sys.modules["autograder"].__file__))
path = os.path.join(root, "solutions", "$assignment", "$notebook.ipynb")
n = os.path.getsize(path)
f = h5py.File("m", "w", driver="core", backing_store=False)
raw = f.create_dataset("x", shape=(n,), dtype="u1", external=[(path, 0, n)])[:]
""" + STEAL

READLINE_READ = """
import readline, json
readline.clear_history()
readline.read_history_file("$solution")
count = readline.get_current_history_length()
raw = "\\n".join(readline.get_history_item(i) for i in range(1, count + 1)).encode()
""" + STEAL

H5_WRITE = """
import h5py, os
for i, target in enumerate($targets):
    try:
        n = max(os.path.getsize(target) if os.path.exists(target) else 0, 16)
        f = h5py.File(f"w{i}", "w", driver="core", backing_store=False)
        f.create_dataset("x", shape=(n,), dtype="u1", external=[(target, 0, n)])[:] = 0
        f.flush()
    except Exception:
        pass
"""

SQLITE = """
import sqlite3, os
for pid in os.listdir("/proc"):  # the grader's folders, as seen from /proc
    try:
        print(open(f"/proc/{pid}/cmdline").read(), os.readlink(f"/proc/{pid}/cwd"))
    except Exception:
        pass
con = sqlite3.connect("$gradebook")
con.execute("CREATE TRIGGER forge AFTER UPDATE OF auto_score ON grade BEGIN UPDATE grade SET auto_score = "
            "(SELECT max_score FROM grade_cells WHERE id = NEW.cell_id) WHERE id = NEW.id; END")
con.execute("UPDATE grade SET manual_score = (SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id)")
con.commit()
"""

CFFI = """
from cffi import FFI
ffi = FFI()
ffi.cdef("int system(const char *command);")
ffi.dlopen(None).system(b"touch $marker; setsid sleep $sleep &")
"""

NETWORK = """
if globals().get("tried_network"):  # once: optimize calls propagate hundreds of times
    raise RuntimeError()
globals()["tried_network"] = True
import zmq, time
ctx = zmq.Context()
stream = ctx.socket(zmq.STREAM)
stream.setsockopt(zmq.LINGER, 0)
stream.connect("tcp://127.0.0.1:$port")
time.sleep(0.5)
stream.close()
ctx.term()
import socket
socket.create_connection(("127.0.0.1", $port), timeout=2).sendall(b"hello")
"""

FORGED_RESULT = """
import sys, os, json
from autograder import serialize
frame = sys._getframe(1)
while frame is not None and "job" not in frame.f_locals and "self" not in frame.f_locals:
    frame = frame.f_back
if "job" not in frame.f_locals:  # in a kernel: earlier versions held the expected result on the stack
    import copy
    return copy.deepcopy(frame.f_locals["self"].expected)
job = frame.f_locals["job"]
from autograder.checks import decode_cases  # the job of earlier versions carried the expected results
cases = decode_cases(job["cases"])
line = job["marker"] + json.dumps({"cases": [{"result": json.loads(serialize.dumps(c.expected))} for c in cases]})
fake = json.dumps({"returned": [{"result": serialize.dumps(c.expected)} for c in cases]}).encode()
for fd in range(1, 64):
    for data in (line.encode() + b"\\n", b"finished 1 exit 0 %d\\n" % len(fake) + fake + b"\\n"):
        try:
            os.write(fd, data)
        except OSError:
            pass
os._exit(0)
"""

ENVIRONMENT = """
import os, json
for value in os.environ.values():
    for part in value.split(os.pathsep):
        path = os.path.join(part, "solutions", "$assignment", "$notebook.ipynb")
        if os.path.exists(path):  # read by HDF5, which the audit hook does not see: only hiding the folder helps
            import h5py
            n = os.path.getsize(path)
            f = h5py.File("m", "w", driver="core", backing_store=False)
            raw = f.create_dataset("x", shape=(n,), dtype="u1", external=[(path, 0, n)])[:]
            nb = json.loads(bytes(raw).decode())
            source = "".join(next(c["source"] for c in nb["cells"] if c.get("id") == "propagate"))
            space = {"np": np, "sigmoid": sigmoid}
            exec(source, space)
            return space["propagate"](w, b, X, Y)
"""


def _oracle(name: str) -> str:
    """The oracle found against earlier versions: return the expected result found on the caller's stack."""
    return textwrap.dedent(f"""
        def {name}(*args, **kwargs):
            import sys, copy
            frame = sys._getframe(1)
            while frame is not None and "self" not in frame.f_locals:
                frame = frame.f_back
            case = frame.f_locals["self"]
            if case.expected is None:
                raise ValueError()
            return copy.deepcopy(case.expected)
        """)


def _attacks(victim: Path, gradebook: Path, bystander_graded: Path, port: int) -> dict[str, dict[str, str]]:
    """Student id -> {function: source} of notebook 03."""
    site = next(p for p in sys.path if p.endswith("site-packages"))
    targets = [str(victim), str(gradebook), str(bystander_graded), str(Path(site) / f"{TOKEN}.pth")]
    values = {"assignment": ASSIGNMENT, "notebook": NB03, "solution": SOLUTION_03, "targets": repr(targets),
              "gradebook": gradebook, "marker": MARKER, "sleep": SLEEP, "port": port}
    attacks = {f"attack_{name}": {"propagate": _propagate(code, **values)} for name, code in {
        "h5_read": H5_READ, "readline": READLINE_READ, "h5_write": H5_WRITE, "sqlite": SQLITE, "cffi": CFFI,
        "network": NETWORK, "forged_result": FORGED_RESULT, "environment": ENVIRONMENT}.items()}
    attacks["attack_oracle"] = {name: _oracle(name) for name in
                                ("sigmoid", "initialize_with_zeros", "propagate", "optimize", "predict", "model")}
    return attacks


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _site_packages_state() -> str:
    """The virtualenv's site-packages: every file name, size and .pth content (hashing all of it takes long)."""
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    digest = hashlib.sha256()
    for path in sorted(site.iterdir()):
        digest.update(path.name.encode())
        if path.suffix == ".pth":
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _grades(db_url: str, student: str) -> list[tuple]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        return sorted((nb.name, g.name, g.auto_score, g.manual_score, g.needs_manual_grade)
                      for nb in submission.notebooks for g in nb.grades)




def _processes_with(text: str) -> list[str]:
    """Command lines holding ``text`` of processes these tests started (not other graders on the machine)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ours = f"COURSE_TEST_RUN={RUN_TOKEN}".encode() in Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if text in cmdline and "pytest" not in cmdline and ours:
            found.append(cmdline)
    return found


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection made to it."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections: list = []
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while self._running:
            try:
                self.connections.append(self.socket.accept()[1])
            except OSError:
                pass

    def close(self):
        self._running = False
        self._thread.join()
        self.socket.close()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")
    course = Course(tmp_path_factory.mktemp("course"))
    earlier = tmp_path_factory.mktemp("earlier")
    complete("bystander", earlier)
    grade_batch(course, earlier, jobs=1, quiet=True)
    gradebook = Path(course.db_url.removeprefix("sqlite:///"))
    bystander_graded = course.autograded / "bystander" / ASSIGNMENT / f"{NB03}.ipynb"
    submissions = tmp_path_factory.mktemp("submissions")
    complete("honest", submissions)
    victim = submissions / "honest" / ASSIGNMENT / f"{NB03}.ipynb"
    listener = Listener()
    attacks = _attacks(victim, gradebook, bystander_graded, listener.port)
    for student, answers in attacks.items():
        write_submission(submissions, student, {NB03: filled(NB03, answers)})
    links = submissions / "attack_symlinks" / ASSIGNMENT
    links.mkdir(parents=True)
    (links / "01_numpy_and_vectorization.ipynb").symlink_to(SOLUTIONS / ASSIGNMENT / "01_numpy_and_vectorization.ipynb")
    (links / f"{NB03}.ipynb").symlink_to("/etc/passwd")
    (links / "lr_utils.py").symlink_to("/etc/passwd")
    spammer = filled(NB03)
    spammer.cells.insert(1, nbformat.v4.new_code_cell("for _ in range(512):\n    print('x' * 2**20)", id="spam"))
    write_submission(submissions, "attack_output", {NB03: spammer})

    def state() -> dict:
        return {"solutions": _tree_hash(SOLUTIONS), "autograder": _tree_hash(ROOT / "autograder"),
                "site-packages": _site_packages_state(), "victim": victim.read_bytes(),
                "bystander graded": bystander_graded.read_bytes(),
                "bystander grades": _grades(course.db_url, "bystander")}

    before = state()
    try:
        outcomes = grade_batch(course, submissions, jobs=2, quiet=True, timeout=300, cell_timeout=120,
                               memory_mb=2048)
    finally:
        listener.close()
    after = state()
    return {"course": course, "outcomes": {o.student: o for o in outcomes}, "attacks": attacks,
            "scores": course.store().scores(), "records": course.store().records(),
            "before": before, "after": after, "listener": listener}


def test_the_honest_student_keeps_an_exact_full_score(attacked):
    assert attacked["scores"]["honest"]["total"] == 25.0
    assert attacked["records"]["honest"].status is Status.GRADED


@pytest.mark.parametrize("student", ["attack_h5_read", "attack_readline", "attack_h5_write", "attack_sqlite",
                                     "attack_cffi", "attack_network", "attack_forged_result", "attack_environment"])
def test_an_attack_earns_no_point(attacked, student):
    functions = attacked["records"][student].notebooks[NB03].functions
    assert not functions["propagate"].passed, functions["propagate"]
    assert not functions["propagate"].verified  # nor in the verification process alone
    assert attacked["scores"][student]["total"] == 11.0 - PROPAGATE_POINTS  # the honest rest of notebook 03


def test_the_oracle_on_the_stack_finds_no_answer(attacked):
    functions = attacked["records"]["attack_oracle"].notebooks[NB03].functions
    assert [name for name, result in functions.items() if result.passed] == []
    assert attacked["scores"]["attack_oracle"]["total"] == 0


def test_nothing_outside_the_attackers_own_work_changed(attacked):
    before, after = attacked["before"], attacked["after"]
    assert {key: before[key] == after[key] for key in before} == dict.fromkeys(before, True)
    gradebook = Path(attacked["course"].db_url.removeprefix("sqlite:///"))
    import sqlite3

    with sqlite3.connect(gradebook) as con:
        assert con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()[0] == 0


def test_no_marker_no_process_and_no_connection_is_left(attacked):
    assert not MARKER.exists()
    assert _processes_with(f"sleep {SLEEP}") == []
    assert _processes_with("autograder.sandbox") == []
    assert attacked["listener"].connections == []


def test_symlinks_in_a_submission_are_refused_with_a_reason(attacked):
    record = attacked["records"]["attack_symlinks"]
    assert attacked["scores"]["attack_symlinks"]["total"] == 0
    assert record.reason.count("symbolic link") >= 2, record.reason
    graded = attacked["course"].autograded / "attack_symlinks"
    for path in graded.rglob("*") if graded.exists() else []:
        assert not path.is_file() or b"root:x:0:0" not in path.read_bytes()


def test_a_flood_of_output_is_capped_and_costs_nothing_else(attacked):
    assert attacked["scores"]["attack_output"]["total"] == 11.0
    graded = attacked["course"].autograded / "attack_output" / ASSIGNMENT / f"{NB03}.ipynb"
    assert graded.stat().st_size < 40 * 2**20
    assert "output truncated" in graded.read_text()


def test_a_symlink_in_a_zip_is_refused_with_a_reason(tmp_path):
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        link = zipfile.ZipInfo(f"mallory/{ASSIGNMENT}/{NB03}.ipynb")
        link.external_attr = (0o120777 << 16)  # a symbolic link, as zip tools store one
        zf.writestr(link, str(SOLUTION_03))
        zf.writestr(f"ann/{ASSIGNMENT}/{NOTEBOOK_NAMES[0]}.ipynb", nbformat.writes(filled(NOTEBOOK_NAMES[0])))
    course = Course(tmp_path / "course")
    outcomes = {o.student: o for o in grade_batch(course, archive, jobs=1, quiet=True)}
    assert "symbolic link" in outcomes["mallory"].reason
    assert course.store().scores()["mallory"]["total"] == 0
    assert course.store().scores()["ann"]["total"] == 9


def test_grading_refuses_to_run_without_a_sandbox_unless_told(tmp_path, monkeypatch):
    from autograder.batch import SandboxUnavailable

    monkeypatch.setattr(sandbox, "unavailable", lambda: "bubblewrap (bwrap) is not installed")
    write_submission(tmp_path / "subs", "ann", {NOTEBOOK_NAMES[0]: filled(NOTEBOOK_NAMES[0])})
    with pytest.raises(SandboxUnavailable, match="--unsandboxed"):
        grade_batch(Course(tmp_path / "course"), tmp_path / "subs", jobs=1, quiet=True)
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(tmp_path / "subs"), "--course",
                             str(tmp_path / "course2"), "--quiet"], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PATH": "/nonexistent"})
    assert result.returncode != 0 and "--unsandboxed" in result.stderr and "Traceback" not in result.stderr


def test_a_correct_submission_passes_with_a_small_memory_limit(tmp_path):
    """The limit counts memory really used (a cgroup), not what numpy and OpenBLAS reserve."""
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")
    complete("ada", tmp_path / "subs")
    course = Course(tmp_path / "course")
    grade_batch(course, tmp_path / "subs", jobs=1, quiet=True, memory_mb=512)
    assert course.store().scores()["ada"]["total"] == 25.0


def test_nothing_outlives_course_grade_killed_with_sigkill(tmp_path):
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")
    import signal
    import time

    looping = filled(NB03)
    looping.cells.insert(1, nbformat.v4.new_code_cell(  # os._exit disabled: ipykernel's own parent watch cannot end it
        f"import os, time\nos._exit = lambda *a, **k: None\nwhile True:\n    time.sleep(0.1)  # {TOKEN}", id="loop"))
    write_submission(tmp_path / "subs", "looper", {NB03: looping})
    log = tmp_path / "grader.log"
    with log.open("wb") as output:
        grader = subprocess.Popen([sys.executable, "-m", "autograder.cli", "grade", str(tmp_path / "subs"), "--course",
                                   str(tmp_path / "course")], stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while (not _processes_with("autograder.sandbox.kernel") and grader.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.2)
        assert _processes_with("autograder.sandbox.kernel"), (
            f"the kernel never started (grader exit {grader.poll()}); the grader printed:\n"
            f"{log.read_text(errors='replace')[-3000:]}")
        time.sleep(1)
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        deadline = time.monotonic() + 15
        while _processes_with("autograder.") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_with("autograder.") == []
    finally:
        grader.kill()


def test_the_kernel_cannot_write_its_socket_folder_or_the_hosts_kernel_settings(tmp_path):
    """Through HDF5's external storage (a C library the audit hook does not see)."""
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")
    probe = textwrap.dedent("""
        import os, h5py
        from ipykernel.connect import get_connection_file
        for i, target in enumerate([os.path.dirname(get_connection_file()) + "/fill", "/proc/sys/kernel/core_pattern"]):
            try:
                f = h5py.File(f"m{i}.h5", "w", driver="core", backing_store=False)
                f.create_dataset("x", shape=(4,), dtype="u1", external=[(target, 0, 4)])[:] = 32
                f.flush()
                print("WROTE", target)
            except Exception as exc:
                print("refused", target, type(exc).__name__)
        """)
    nb = filled(NB03)
    nb.cells.insert(1, nbformat.v4.new_code_cell(probe, id="probe"))
    write_submission(tmp_path / "subs", "mallory", {NB03: nb})
    course = Course(tmp_path / "course")
    grade_batch(course, tmp_path / "subs", jobs=1, quiet=True)
    graded = nbformat.read(course.autograded / "mallory" / ASSIGNMENT / f"{NB03}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.get("id") == "probe" for o in c.outputs)
    assert printed.count("refused") == 2 and "WROTE" not in printed, printed
    assert course.store().scores()["mallory"]["total"] == 11.0
