"""Does the OS sandbox hold on its own, without the audit hook behind it?

Each test runs plain Python (no guard installed) in a :class:`autograder.sandbox.Sandbox`, the way the
grader starts kernels and verification processes, and tries to get out.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import require_component

from autograder import sandbox
from autograder.course import ROOT, SOLUTIONS
from autograder.sandbox import Limits, Sandbox, cgroups


@pytest.fixture(autouse=True)
def _needs_bubblewrap():
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")


def _run(tmp_path, code: str, limits: Limits | None = None, timeout: float = 60, **options):
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    box = Sandbox(limits or Limits(memory_mb=512, cpu_seconds=60, scratch_mb=16), scratch=scratch, **options)
    try:
        result = subprocess.run(box.command([sys.executable, "-c", code]), capture_output=True, text=True,
                                timeout=timeout, cwd=scratch)
        return result, box.out_of_memory()
    finally:
        box.close()


def test_the_process_is_an_unprivileged_user_alone_in_its_pid_namespace(tmp_path):
    result, _ = _run(tmp_path, "import os; print(os.getuid(), os.getgid(), os.getpid(), sorted(os.environ))")
    uid, gid, pid, names = result.stdout.split(" ", 3)
    assert (uid, gid) == ("65534", "65534") and int(pid) < 10, result.stderr
    assert "COURSE" not in names and str(ROOT) not in result.stdout


def test_the_course_and_the_machine_are_out_of_sight(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("42")
    probes = [str(SOLUTIONS), str(ROOT / "gradebook.db"), str(ROOT / "examples"), str(secret), "/etc/passwd",
              str(Path.home() / ".bash_history"), "/var"]
    code = f"import os\nfor p in {probes!r}:\n    print(p, os.path.exists(p))"
    result, _ = _run(tmp_path, code)
    seen = dict(line.rsplit(" ", 1) for line in result.stdout.splitlines())
    assert seen == {p: "False" for p in probes}, (seen, result.stderr)


def test_nothing_outside_the_scratch_folder_can_be_written(tmp_path):
    targets = [f"{sys.prefix}/lib/planted.pth", str(ROOT / "autograder" / "planted.py"), "/planted", "/tmp/planted",
               "/dev/shm/planted"]
    code = (f"import os\nfor p in {targets!r}:\n    try:\n        open(p, 'w').write('x'); print(p, 'written')\n"
            "    except OSError as e:\n        print(p, 'refused')\n"
            "open('mine.txt', 'w').write('ok'); print('scratch ok')")
    result, _ = _run(tmp_path, code)
    assert result.stdout.count("refused") == len(targets) and "scratch ok" in result.stdout, result.stdout
    assert not (ROOT / "autograder" / "planted.py").exists() and not Path(sys.prefix, "lib", "planted.pth").exists()


def test_the_scratch_folder_is_size_limited(tmp_path):
    code = "try:\n    open('big', 'wb').write(b'x' * (64 * 2**20))\nexcept OSError as e:\n    print('refused', e.errno)"
    result, _ = _run(tmp_path, code, Limits(memory_mb=512, cpu_seconds=60, scratch_mb=16))
    assert "refused" in result.stdout, (result.stdout, result.stderr)


def test_there_is_no_network_not_even_loopback(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(5)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(_accept(listener)))
    thread.start()
    port = listener.getsockname()[1]
    code = (f"import socket\ns = socket.socket()\ns.settimeout(3)\ntry:\n    s.connect(('127.0.0.1', {port}))\n"
            "    print('connected')\nexcept OSError as e:\n    print('refused', e)")
    result, _ = _run(tmp_path, code)
    thread.join()
    listener.close()
    assert "refused" in result.stdout and accepted == [None], (result.stdout, result.stderr)


def _accept(listener):
    try:
        return listener.accept()[1]
    except OSError:
        return None


def test_no_process_outlives_its_sandbox(tmp_path):
    marker = f"31337{os.getpid()}"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    box = Sandbox(Limits(memory_mb=256, cpu_seconds=60), scratch=scratch)
    try:
        process = subprocess.Popen(box.command(["/bin/sh", "-c", f"setsid sleep {marker} & nohup sleep {marker} & "
                                                "sleep 1000"]), start_new_session=True)
        deadline = time.monotonic() + 10
        while _count(marker) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _count(marker) == 2
        process.kill()  # what the grader does to a sandbox: kill the process it started
        process.wait()
        deadline = time.monotonic() + 5
        while _count(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _count(marker) == 0
    finally:
        box.close()


def _count(marker: str) -> int:
    found = 0
    for entry in os.listdir("/proc"):
        try:
            found += Path(f"/proc/{entry}/cmdline").read_bytes().startswith(f"sleep\0{marker}".encode())
        except (OSError, ValueError):
            pass
    return found


@pytest.mark.skipif(not cgroups.bases(), reason="this machine gives the grader no cgroups (memory is capped by "
                                                 "address space only)")
def test_resident_memory_is_limited_and_reported(tmp_path):
    code = "import numpy\nblock = numpy.ones(600 * 2**20 // 8)\nprint('survived')"  # 600 MiB really used
    result, out_of_memory = _run(tmp_path, code, Limits(memory_mb=256, cpu_seconds=60))
    assert "survived" not in result.stdout and out_of_memory


def test_a_correct_sized_allocation_is_not_refused_for_its_address_space(tmp_path):
    """Only memory really used counts: numpy and OpenBLAS reserve far more than they touch."""
    code = "import numpy, matplotlib.pyplot\nblock = numpy.ones(100 * 2**20 // 8)\nprint('fine', block.sum() > 0)"
    result, out_of_memory = _run(tmp_path, code, Limits(memory_mb=256, cpu_seconds=60))
    assert "fine True" in result.stdout, result.stderr
    assert not out_of_memory


def test_neither_host_kernel_settings_nor_sysrq_can_be_written(tmp_path):
    """Inside a user namespace started by root, "nobody" would own /proc/sys: the sandbox must not be that."""
    targets = ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/panic_on_oom", "/proc/sysrq-trigger")
    code = (f"import os\nfor p in {targets!r}:\n"
            "    try:\n        os.close(os.open(p, os.O_WRONLY)); print(p, 'WRITABLE')\n"
            "    except OSError as e:\n        print(p, 'refused')")
    result, _ = _run(tmp_path, code)
    assert result.stdout.count("refused") == 3 and "WRITABLE" not in result.stdout, result.stdout + result.stderr


def test_the_sandboxed_process_is_not_the_hosts_root(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    box = Sandbox(Limits(memory_mb=256, cpu_seconds=60), scratch=scratch)
    marker = f"4242{os.getpid()}"
    process = subprocess.Popen(box.command(["/bin/sh", "-c", f"exec sleep {marker}"]), start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not (pids := _pids(marker)) and time.monotonic() < deadline:
            time.sleep(0.05)
        uids = [Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[:4] for pid in pids]
        assert uids and all(set(u) == {str(os.getuid() if os.getuid() else sandbox.UID)} for u in uids), uids
    finally:
        process.kill()
        process.wait()
        box.close()


def _pids(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if Path(f"/proc/{entry}/cmdline").read_bytes().startswith(f"sleep\0{marker}".encode()):
                found.append(int(entry))
        except (OSError, ValueError):
            pass
    return found
