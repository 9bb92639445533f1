"""The grader's shape, held by import-linter's contracts in ``.importlinter``: the sandboxed side imports
nothing of the trusted side, layers only import downwards, and there are no import cycles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.exists(), "import-linter is part of the dev extra: .venv/bin/pip install -e '.[dev]'"
    done = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_contracts_can_break(tmp_path):
    """The same linter, on a contract that today's code breaks on purpose, reports it broken."""
    lint = Path(sys.executable).with_name("lint-imports")
    config = tmp_path / "broken.ini"
    config.write_text("[importlinter]\nroot_packages =\n    autograder\n\n"
                      "[importlinter:contract:broken]\nname = cli must not import store (it does)\n"
                      "type = forbidden\nsource_modules =\n    autograder.cli\n"
                      "forbidden_modules =\n    autograder.store\n")
    done = subprocess.run([str(lint), "--config", str(config), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0 and "BROKEN" in done.stdout
