"""A cgroup per sandbox: limits that count what really matters, resident memory and processes.

An address-space limit (``RLIMIT_AS``) counts memory a process only reserved: numpy, OpenBLAS and
matplotlib reserve far more than they use, so a tight one fails correct notebooks and a loose one
limits nothing. A memory cgroup counts pages really used (the sandbox's tmpfs included) and a pids
cgroup bounds processes and threads, a fork bomb included.

Works with cgroup v1 (a ``memory`` and a ``pids`` hierarchy) and with cgroup v2 where this process may
create child groups with those controllers (as root, or in a delegated subtree). Elsewhere
:func:`Cgroup.create` returns None and the sandbox falls back to resource limits; ``course grade``
says which applies.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import signal
import time
from pathlib import Path

CONTROLLERS = ("memory", "pids")
ACCOUNTING = "cpuacct"  # cgroup v1: CPU time of everything in the group, where the machine has it (v2: always)
PREFIX = "course-"


def _mounts() -> dict[str, tuple[str, str]]:
    """Controller (or "" for cgroup v2) -> (mount point, root of the mount), from /proc/self/mountinfo."""
    found = {}
    with open("/proc/self/mountinfo") as info:
        for line in info:
            fields = line.split()
            dash = fields.index("-")
            fstype, options = fields[dash + 1], fields[dash + 3].split(",")
            if fstype == "cgroup2":
                found.setdefault("", (fields[4], fields[3]))
            elif fstype == "cgroup":
                for controller in (*CONTROLLERS, ACCOUNTING):
                    if controller in options:
                        found.setdefault(controller, (fields[4], fields[3]))
    return found


def _own_groups() -> dict[str, str]:
    """Controller (or "" for cgroup v2) -> this process's cgroup path, from /proc/self/cgroup."""
    groups = {}
    with open("/proc/self/cgroup") as info:
        for line in info:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                groups[controller] = path
    return groups


def _base(controller: str) -> Path | None:
    """The folder under which this process may create cgroups for ``controller`` (or v2), or None."""
    mounts, groups = _mounts(), _own_groups()
    if controller not in mounts or controller not in groups:
        return None
    mount, root = mounts[controller]
    relative = os.path.relpath(groups[controller], root) if groups[controller].startswith(root) else "."
    base = Path(mount) / relative
    while base.name.startswith(PREFIX) and base.parent != base:  # a sandbox's own group: create beside it
        base = base.parent
    return base if os.access(base, os.W_OK) else None


@functools.cache
def bases() -> dict[str, Path] | None:
    """Where sandbox cgroups are made: one folder per controller (v1), or one for both (v2); None if nowhere."""
    v1 = {c: _base(c) for c in CONTROLLERS}
    if all(v1.values()):
        accounting = _base(ACCOUNTING)  # optional: only the benchmarks' CPU figures need it
        return {**v1, ACCOUNTING: accounting} if accounting is not None else v1
    v2 = _base("")
    if v2 is None:
        return None
    controllers = (v2 / "cgroup.controllers").read_text().split() if (v2 / "cgroup.controllers").exists() else []
    if not set(CONTROLLERS) <= set(controllers):
        return None
    enabled = (v2 / "cgroup.subtree_control").read_text().split()
    if not set(CONTROLLERS) <= set(enabled):
        try:  # refused where this group holds processes itself (cgroup v2's rule); then there is no v2 support
            (v2 / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
        except OSError:
            return None
    return {"": v2}


def describe() -> str:
    found = bases()
    if not found:
        return "no cgroups (resident memory and processes are not limited; address space is)"
    return "cgroup v2" if "" in found else "cgroup v1"


class Cgroup:
    """The cgroups of one sandbox; the launcher joins them before the sandbox starts."""

    def __init__(self, folders: list[Path]):
        self.folders = folders

    @classmethod
    def create(cls, memory_mb: int, max_processes: int) -> Cgroup | None:
        found = bases()
        if not found:
            return None
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        group = cls([base / name for base in found.values()])
        try:
            for folder in group.folders:
                folder.mkdir()
            memory = str(memory_mb * 1024 * 1024)
            group._write("memory", {"memory.limit_in_bytes": memory, "memory.max": memory})
            # no swap beyond the limit: v1 counts memory and swap together, v2 counts swap apart
            group._write("memory", {"memory.memsw.limit_in_bytes": memory, "memory.swap.max": "0"}, optional=True)
            group._write("pids", {"pids.max": str(max_processes)})
        except OSError:
            group.remove()
            return None
        return group

    def _write(self, controller: str, values: dict[str, str], optional: bool = False) -> None:
        """Write the first of ``values`` (file name -> value) whose file the group's folders have."""
        for folder in self.folders:  # (with cgroup v1, only the controller's own folder has its files)
            for name, value in values.items():
                if (folder / name).exists():
                    (folder / name).write_text(value)
                    return
        if not optional:
            raise OSError(f"no cgroup file for {controller} limits ({', '.join(values)})")

    def join(self) -> None:
        """Move the calling process into the group (its children start there too)."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def _memory_counts(self) -> dict[str, int]:
        """The group's memory counters: "oom_kill" (processes killed for its limit) and "max" (times it was hit)."""
        counts: dict[str, int] = {}
        for folder in self.folders:
            for name in ("memory.events", "memory.oom_control"):
                if (folder / name).exists():
                    for line in (folder / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if value.strip().isdigit():
                            counts[key] = counts.get(key, 0) + int(value)
            if (folder / "memory.failcnt").exists():  # cgroup v1: the limit was hit, by count or by high mark
                limit = int((folder / "memory.limit_in_bytes").read_text())
                counts["max"] = counts.get("max", 0) + int((folder / "memory.failcnt").read_text() or 0) + (
                    int((folder / "memory.max_usage_in_bytes").read_text()) >= limit)
        return counts

    def mark(self) -> dict[str, int]:
        """Where the memory counters stand now: :meth:`out_of_memory` ``since`` this mark looks only at what follows.

        For one sandbox that runs several kernels, one after another. (cgroup v1's failure count and high
        mark are reset here; its count of OOM kills, and cgroup v2's counters, only ever grow.)
        """
        for folder in self.folders:
            for name in ("memory.failcnt", "memory.max_usage_in_bytes"):
                with contextlib.suppress(OSError):
                    if (folder / name).exists():
                        (folder / name).write_text("0")
        return self._memory_counts()

    def out_of_memory(self, since: dict[str, int] | None = None) -> bool:
        """Whether a process of this group was killed for reaching the group's own memory limit (since ``since``,
        a :meth:`mark`, when given).

        (Not for the machine running out of memory: then the group's limit was never reached.)
        """
        try:
            counts = self._memory_counts()
        except OSError:  # the group is gone
            return False
        since = since or {}
        return counts.get("oom_kill", 0) > since.get("oom_kill", 0) and counts.get("max", 0) > since.get("max", 0)

    def cpu_seconds(self) -> float | None:
        """CPU seconds used so far by every process that ran in the group (None where nothing counts them)."""
        for folder in self.folders:
            try:
                if (folder / "cpuacct.usage").exists():
                    return int((folder / "cpuacct.usage").read_text()) / 1e9
                if (folder / "cpu.stat").exists():
                    for line in (folder / "cpu.stat").read_text().splitlines():
                        if line.startswith("usage_usec "):
                            return int(line.split()[1]) / 1e6
            except (OSError, ValueError):
                return None
        return None

    def kill(self) -> None:
        for folder in self.folders:
            with contextlib.suppress(OSError):
                for pid in (folder / "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(int(pid), signal.SIGKILL)

    def remove(self) -> None:
        """Kill what is left in the group and remove it (a moment's wait for the dying to leave)."""
        for attempt in range(50):
            self.kill()
            left = []
            for folder in self.folders:
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    left.append(folder)
            if not left:
                return
            self.folders = left
            time.sleep(0.01 * (attempt + 1))


def sweep() -> int:
    """Remove the sandbox cgroups of grader processes that are gone (killed runs); return how many."""
    removed = 0
    for base in (bases() or {}).values():
        for folder in base.glob(f"{PREFIX}*"):
            owner = folder.name[len(PREFIX):].split("-")[0]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                Cgroup([folder]).remove()
                removed += not folder.exists()
    return removed
