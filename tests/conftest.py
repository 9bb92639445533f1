"""Shared fixtures: paths of the course, and the original dataset when the environment provides it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pg_cluster"]  # the throwaway PostgreSQL server (tests/pg_cluster.py)

ORIGINAL_DIR = os.environ.get("CATVNONCAT_DIR")

# One token for the whole test session, inherited by every grader process the tests start (outside the
# sandboxes): a test that looks for "its" graders and kernels in /proc recognises them by it, and never
# touches another run's. One per session, set once: two modules each setting their own would leave only
# the last one imported in force, and the other module would find none of its processes.
RUN_TOKEN = f"course-tests-{os.getpid()}"
os.environ["COURSE_TEST_RUN"] = RUN_TOKEN


@pytest.fixture
def original_dataset_dir() -> Path:
    """The folder of the original deeplearning.ai files; the test is skipped (saying why) without it."""
    if not ORIGINAL_DIR or not (Path(ORIGINAL_DIR) / "train_catvnoncat.h5").exists():
        pytest.skip("the original deeplearning.ai dataset is not available: set CATVNONCAT_DIR to the folder "
                    "holding train_catvnoncat.h5 and test_catvnoncat.h5 to run this check")
    return Path(ORIGINAL_DIR)


@pytest.fixture
def course_dataset(monkeypatch):
    """Make lr_utils load the course's own dataset even when CATVNONCAT_DIR is set for the run."""
    monkeypatch.delenv("CATVNONCAT_DIR", raising=False)


def require_component(available: bool, what: str, install: str) -> None:
    """Skip, naming the install command, when a system component is missing; in CI, fail instead.

    ``.ci/run`` installs every component and sets ``COURSE_REQUIRE_COMPONENTS``, so CI never skips.
    """
    if available:
        return
    message = f"{what} is not available here: install it with `{install}`"
    if os.environ.get("COURSE_REQUIRE_COMPONENTS"):
        pytest.fail(f"{message} (CI must run these tests: .ci/run installs it)")
    pytest.skip(message)
