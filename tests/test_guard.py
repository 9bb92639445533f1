"""The audit hook every sandboxed process installs (:mod:`autograder.sandbox.guard`), on its own: what it
refuses and what it lets through. An audit hook cannot be removed, so each probe runs in a fresh Python."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import json, os, signal, sys
    scratch, outside, readable = sys.argv[1:4]
    open(os.path.join(outside, "secret.txt"), "w").write("secret")
    open(os.path.join(readable, "data.txt"), "w").write("data")
    from autograder.sandbox.guard import install_guard
    install_guard(writable=(scratch,), readable=(readable,))

    def attempt(action):
        try:
            action()
        except PermissionError as exc:
            return "refused" if "not allowed while grading" in str(exc) else f"other: {exc}"
        except Exception as exc:
            return f"failed: {type(exc).__name__}: {exc}"
        return "allowed"

    def import_(name):
        return lambda: __import__(name)

    results = {
        "write scratch": attempt(lambda: open(os.path.join(scratch, "a.txt"), "w").write("x")),
        "read scratch": attempt(lambda: open(os.path.join(scratch, "a.txt")).read()),
        "read readable": attempt(lambda: open(os.path.join(readable, "data.txt")).read()),
        "list readable": attempt(lambda: os.listdir(readable)),
        "write readable": attempt(lambda: open(os.path.join(readable, "data.txt"), "a")),
        "read outside": attempt(lambda: open(os.path.join(outside, "secret.txt")).read()),
        "read outside via symlink": attempt(lambda: (os.symlink(os.path.join(outside, "secret.txt"),
                                                                os.path.join(scratch, "link")),
                                                     open(os.path.join(scratch, "link")).read())),
        "list outside": attempt(lambda: os.listdir(outside)),
        "remove outside": attempt(lambda: os.remove(os.path.join(outside, "secret.txt"))),
        "rename into outside": attempt(lambda: os.rename(os.path.join(scratch, "a.txt"),
                                                         os.path.join(outside, "b.txt"))),
        "os.system": attempt(lambda: os.system("true")),
        "fork": attempt(lambda: os.fork()),
        "subprocess": attempt(lambda: __import__("subprocess").run(["true"])),
        "kill parent": attempt(lambda: os.kill(os.getppid(), signal.SIGTERM)),
        "kill self with SIGTERM": attempt(lambda: os.kill(os.getpid(), signal.SIGTERM)),
        "socket": attempt(import_("socket")),
        "ctypes": attempt(import_("ctypes")),
        "cffi": attempt(import_("_cffi_backend")),
        "sqlite3": attempt(lambda: __import__("sqlite3").connect(":memory:")),
        "gc.get_objects": attempt(lambda: __import__("gc").get_objects()),
        "gc.get_referrers": attempt(lambda: __import__("gc").get_referrers(attempt)),
        "remove the hook": attempt(lambda: sys.addaudithook(lambda *a: None) or None),
    }
    seen = []
    signal.signal(signal.SIGINT, lambda *a: seen.append("interrupt"))
    results["interrupt itself"] = attempt(lambda: os.kill(os.getpid(), signal.SIGINT))
    results["interrupt delivered"] = "allowed" if seen == ["interrupt"] else "refused"
    print(json.dumps(results))
""")

ALLOWED = {"write scratch", "read scratch", "read readable", "list readable", "interrupt itself",
           "interrupt delivered", "remove the hook"}  # adding a hook is harmless: hooks cannot be removed


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folders = [tmp_path_factory.mktemp(name) for name in ("scratch", "outside", "readable")]
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, folders)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_what_grading_needs_is_allowed(results):
    assert {name: results[name] for name in ALLOWED} == dict.fromkeys(ALLOWED, "allowed")


REFUSED = ["write readable", "read outside", "read outside via symlink", "list outside", "remove outside",
           "rename into outside", "os.system", "fork", "subprocess", "kill parent", "kill self with SIGTERM",
           "socket", "ctypes", "cffi", "sqlite3", "gc.get_objects", "gc.get_referrers"]


def test_every_probe_is_judged(results):
    assert set(results) == ALLOWED | set(REFUSED)


@pytest.mark.parametrize("action", REFUSED)
def test_everything_else_is_refused_by_the_guard(results, action):
    assert results[action] == "refused"
