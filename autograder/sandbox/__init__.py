"""The OS sandbox: every process that runs a learner's code runs in one.

Grading kernels, verification processes and the feedback page's cost-curve run all start through
:class:`Sandbox`, which builds their command line: a small launcher (:mod:`.launch`) joins a cgroup of
their own and sets resource limits, then becomes `bubblewrap <https://github.com/containers/bubblewrap>`_,
which starts the process in new namespaces:

* **files**: a root of its own, read-only, holding only what the process needs: the system's programs
  and libraries (``/usr``), the Python installation and the course's virtualenv, ``autograder/`` and
  (for kernels) ``datasets/``, all read-only; a size-limited tmpfs as its scratch folder, the only place
  it may write. No ``solutions/``, gradebook, other submission, ``autograded/``, home folder or ``/etc``.
* **user**: the unprivileged user 65534, with no capabilities. When the grader runs as root, bubblewrap
  starts without a user namespace and ``setpriv`` drops to the host's uid 65534 (inside a user namespace
  that user would be the host's root, owner of ``/proc/sys``); otherwise a user namespace maps 65534 to
  the grader's own user, and no further user namespaces may be made.
* **network**: none at all (a namespace of its own, without even a loopback interface).
* **processes**: a PID namespace of its own; when the sandbox ends (or the grader that started it dies:
  ``--die-with-parent``) every process in it is killed, whatever session it started.
* **limits**: resident memory and the number of processes through the cgroup (:mod:`.cgroups`), where
  the machine lets the grader make cgroups; CPU time, file size and, as a backstop, address space
  through resource limits.

Inside, :mod:`.guard` adds an audit hook as a second line. :mod:`.kernel` and :mod:`.zygote` are the
two programs that run in a sandbox.

Without bubblewrap (or where the machine refuses user namespaces) ``course grade`` refuses to run,
unless told ``--unsandboxed``: then the same processes start with the same limits and guard, but
without namespaces. That is for trusted submissions only, and recorded with every grade.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from ..course import DATASETS, ROOT
from . import cgroups

INSTALL = "sudo apt-get install bubblewrap (Debian, Ubuntu), or your system's bubblewrap package"
UID = 65534  # "nobody": the user inside every sandbox
DATASETS_INSIDE = "/course/datasets"  # where a kernel finds the course's pictures (COURSE_DATASETS_DIR)
SEED_INSIDE = "/course/submission"  # a kernel's submission files, copied from here into its scratch folder
LAUNCHER = Path(__file__).with_name("launch.py")


@dataclass(frozen=True)
class Limits:
    """What one sandboxed process may use."""

    memory_mb: int  # resident memory (cgroup); address space is capped at ADDRESS_SPACE_FACTOR times this
    cpu_seconds: int
    scratch_mb: int = 512  # the tmpfs scratch folder (counted in memory too), and the largest file
    processes: int = 256  # processes and threads (cgroup)


# Address space is only a backstop behind the cgroup: numpy, OpenBLAS and matplotlib reserve several
# times what they use, so a tight limit fails correct work. Where no cgroup exists it is the only limit.
ADDRESS_SPACE_FACTOR = 4


SETPRIV = "/usr/bin/setpriv"  # util-linux: drops from root to UID, with no capabilities left


def as_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def unavailable() -> str | None:
    """Why no OS sandbox can be made on this machine (None when one can): checked once, by trying."""
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed: {INSTALL}"
    if as_root() and not os.access(SETPRIV, os.X_OK):
        return f"grading as root needs {SETPRIV} (Debian's util-linux) to run learners' code as an unprivileged user"
    probe = Sandbox(Limits(memory_mb=256, cpu_seconds=10), scratch=None, use_cgroup=False)
    try:
        result = subprocess.run(probe.command(["/bin/sh", "-c", "exit 0"]), capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start a sandbox ({exc})"
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return (f"bubblewrap could not start a sandbox ({detail}); this machine may forbid user namespaces "
                f"(sysctl kernel.unprivileged_userns_clone, or an AppArmor rule)")
    return None


def describe(sandboxed: bool) -> str:
    """One line for the operator: what isolates learners' code in this run."""
    limits = cgroups.describe()
    if not sandboxed:
        return f"UNSANDBOXED (trusted submissions only): audit hook and resource limits; {limits}"
    version = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout.strip()
    return f"sandbox: {version or 'bubblewrap'}, no network, private filesystem and PID namespace; {limits}"


def python_roots() -> list[str]:
    """Folders a sandboxed Python needs: the installation, the virtualenv, and the autograder package."""
    paths = sysconfig.get_paths()
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, paths["stdlib"],
                  paths["platstdlib"], paths["purelib"], paths["platlib"], str(Path(sys.executable).parent),
                  str(ROOT / "autograder")}
    roots = sorted({os.path.realpath(p) for p in candidates} | {os.path.abspath(p) for p in candidates})
    return [r for r in roots if not any(r != o and r.startswith(o.rstrip("/") + "/") for o in roots)]


class Sandbox:
    """One sandboxed process: what it may read and write, its limits, and the command that starts it.

    ``scratch`` is its working folder: in the sandbox, a fresh tmpfs of ``Limits.scratch_mb`` mounted
    at that path; unsandboxed, the folder itself. ``seed`` (sandboxed only) is bound read-only at
    ``SEED_INSIDE`` so the process can copy the submission's files into its scratch folder. ``shared``
    folders are bound read-write at their own path (a kernel's sockets); ``read_only`` ones read-only.
    """

    def __init__(self, limits: Limits, *, scratch: Path | None, sandboxed: bool = True, seed: Path | None = None,
                 read_only: tuple[Path, ...] = (), shared: tuple[Path, ...] = (), datasets: bool = False,
                 use_cgroup: bool = True):
        self.limits, self.sandboxed, self.scratch, self.seed = limits, sandboxed, scratch, seed
        self.read_only, self.shared, self.datasets = read_only, shared, datasets
        self.cgroup = cgroups.Cgroup.create(limits.memory_mb, limits.processes) if use_cgroup else None

    @property
    def datasets_dir(self) -> str:
        return DATASETS_INSIDE if self.sandboxed else str(DATASETS)

    @property
    def readable(self) -> list[str]:
        """What the process may read (its guard's list): everything mounted in its sandbox."""
        readable = [*python_roots(), "/usr", "/dev", "/proc", *map(str, self.read_only), *map(str, self.shared)]
        if self.datasets:
            readable.append(self.datasets_dir)
        if self.seed is not None and self.sandboxed:
            readable.append(SEED_INSIDE)
        return readable

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The whole environment of the process: nothing of the grader's, no course path."""
        home = str(self.scratch or "/tmp")
        threads = os.environ.get("OMP_NUM_THREADS", "1")
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
               "MKL_NUM_THREADS": threads}
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # set on machines whose OpenBLAS needs them
            if name in os.environ:
                env[name] = os.environ[name]
        if self.datasets:
            env["COURSE_DATASETS_DIR"] = self.datasets_dir
        env.update(extra or {})
        return env

    def command(self, argv: list[str], env: dict[str, str] | None = None) -> list[str]:
        """The command line that starts ``argv`` in this sandbox (through the launcher)."""
        launch = [sys.executable, "-I", "-S", str(LAUNCHER)]
        if self.cgroup is not None:
            for folder in self.cgroup.folders:
                launch += ["--cgroup", str(folder)]
        memory = self.limits.memory_mb * 1024 * 1024
        launch += ["--limit", f"AS={memory * ADDRESS_SPACE_FACTOR}", "--limit", f"CPU={self.limits.cpu_seconds}",
                   "--limit", f"FSIZE={self.limits.scratch_mb * 1024 * 1024}", "--limit", "CORE=0", "--"]
        environment = self.environment(env)
        if not self.sandboxed:
            return [*launch, "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in environment.items()), *argv]
        if as_root():
            argv = [SETPRIV, f"--reuid={UID}", f"--regid={UID}", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--", *argv]
        return [*launch, *self._bwrap(environment), "--", *argv]

    @property
    def owner(self) -> int | None:
        """The host user id the sandboxed process runs as when it is not the grader's own (grading as root)."""
        return UID if self.sandboxed and as_root() else None

    def _bwrap(self, environment: dict[str, str]) -> list[str]:
        if as_root():
            # bubblewrap started by root, without a user namespace: inside one, "nobody" would be the host's
            # root, owner of /proc/sys and /proc/sysrq-trigger. setpriv (below) makes it a real uid 65534.
            args = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                    "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        else:
            args = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--uid", str(UID), "--gid",
                    str(UID)]
        args += ["--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
        for link in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / link
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        if Path("/etc/ld.so.cache").exists():
            args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
        mounts = [(root, root, "--ro-bind") for root in python_roots()]
        mounts += [(str(p), str(p), "--ro-bind") for p in self.read_only]
        mounts += [(str(p), str(p), "--bind") for p in self.shared]
        if self.datasets:
            mounts.append((str(DATASETS), DATASETS_INSIDE, "--ro-bind"))
        if self.seed is not None:
            mounts.append((str(self.seed), SEED_INSIDE, "--ro-bind"))
        made: set[str] = {"/", "/usr"}
        for _, inside, _ in mounts + ([("", str(self.scratch), "")] if self.scratch else []):
            for parent in reversed(Path(inside).parents):  # parents bwrap would otherwise copy modes from
                if str(parent) not in made:
                    made.add(str(parent))
                    args += ["--perms", "0755", "--dir", str(parent)]
        for source, inside, how in mounts:
            args += [how, source, inside]
        args += ["--proc", "/proc", "--dev", "/dev"]
        if self.scratch is not None:
            args += ["--perms", "1777", "--size", str(self.limits.scratch_mb * 1024 * 1024), "--tmpfs",
                     str(self.scratch), "--chdir", str(self.scratch)]
        args += ["--remount-ro", "/", "--remount-ro", "/dev", "--clearenv"]
        for key, value in environment.items():
            args += ["--setenv", key, value]
        return args

    def out_of_memory(self) -> bool:
        """Whether the process was ended for reaching its memory limit (known where cgroups are made)."""
        return self.cgroup is not None and self.cgroup.out_of_memory()

    def close(self) -> None:
        """Kill whatever is left of the sandbox and remove its cgroup."""
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None


def share_font_cache(target: Path) -> None:
    """Give a kernel matplotlib's font list, which would otherwise be rebuilt (seconds) for every notebook."""
    import matplotlib
    from matplotlib import font_manager  # noqa: F401  (builds the grader's own cache once if needed)

    target.mkdir(parents=True, exist_ok=True)
    for cache in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
        shutil.copy(cache, target / cache.name)
        (target / cache.name).chmod(0o644)
