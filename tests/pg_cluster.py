"""A throwaway PostgreSQL server for the tests that grade into a PostgreSQL gradebook.

Fixtures:

``postgres_url`` (session)
    starts one cluster for the whole run and yields a SQLAlchemy URL of an empty database on it,
    e.g. ``postgresql+psycopg://postgres@/course_test?host=/tmp/course-pg-abc123``.
``fresh_postgres_url`` (per test)
    a new empty database on that cluster, dropped when the test ends.

The server listens only on a unix socket inside its own temporary folder (no TCP port, nothing shared with
another run) and trusts every connection on that socket. It is started with ``pg_ctl start -w`` and stopped
with ``pg_ctl stop -m immediate`` at the end of the session, whatever the tests did; the folder is removed
and a copy of the server log is left in pytest's temporary folder. PostgreSQL refuses to run as root, so a
root test run starts it as ``nobody``.

Without the server binaries (``initdb``, ``pg_ctl`` on PATH or under /usr/lib/postgresql/<version>/bin)
these tests are skipped, naming the install command; in CI (``COURSE_REQUIRE_COMPONENTS``) they fail.
Register with ``pytest_plugins = ["pg_cluster"]`` in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_component

SUPERUSER = "postgres"
DATABASE = "course_test"
SERVER_USER = "nobody"  # who runs the server when the tests run as root
SETTINGS = """
listen_addresses = ''
unix_socket_directories = '{socket_dir}'
fsync = off
synchronous_commit = off
full_page_writes = off
"""


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a long end-to-end test (it grades the sample submissions)")


def server_commands() -> tuple[str, str] | None:
    """``initdb`` and ``pg_ctl``: from PATH, else from the newest /usr/lib/postgresql/<version>/bin; or None."""
    found = shutil.which("initdb"), shutil.which("pg_ctl")
    if all(found):
        return found
    folders = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda bin_dir: _version(bin_dir.parent.name))
    for bin_dir in reversed(folders):
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return str(bin_dir / "initdb"), str(bin_dir / "pg_ctl")
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def url_for(socket_dir: Path | str, database: str) -> str:
    """The SQLAlchemy (psycopg 3) URL of ``database`` on the cluster listening in ``socket_dir``."""
    return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={socket_dir}"


@contextlib.contextmanager
def throwaway_cluster(log_copy: Path | None = None) -> Iterator[Path]:
    """Start a PostgreSQL cluster in a new temporary folder and yield that folder (its unix socket folder).

    On exit the server is stopped (immediate mode) and the folder removed, even after an error; the server
    log is copied to ``log_copy`` first when given. Fails the test, with the server log, if it cannot start.
    """
    commands = server_commands()
    require_component(commands is not None, "the PostgreSQL server (initdb, pg_ctl)", "apt-get install postgresql")
    initdb, pg_ctl = commands
    as_server_user: list[str] = []
    # a long TMPDIR would make the socket path longer than the 107 bytes a unix socket allows
    folder = Path(tempfile.mkdtemp(prefix="course-pg-", dir="/tmp" if len(tempfile.gettempdir()) > 60 else None))
    folder.chmod(0o755)  # the server user must be able to reach its data folder and socket
    data, log = folder / "data", folder / "server.log"
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_server_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]

    def run(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_server_user, *command], cwd=folder, capture_output=True, text=True, timeout=60)

    try:
        created = run(initdb, "-D", str(data), "-U", SUPERUSER, "--auth-local=trust", "--auth-host=reject",
                      "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
        if created.returncode != 0:
            pytest.fail(f"initdb failed (exit {created.returncode}):\n{created.stdout}{created.stderr}")
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(SETTINGS.format(socket_dir=folder))
        started = run(pg_ctl, "start", "-D", str(data), "-l", str(log), "-w", "-t", "30")
        if started.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else "(no server log)"
            pytest.fail(f"PostgreSQL did not start (pg_ctl exit {started.returncode}):\n"
                        f"{started.stdout}{started.stderr}\nserver log:\n{server_log}")
        yield folder
    finally:
        if (data / "postmaster.pid").exists():
            run(pg_ctl, "stop", "-D", str(data), "-m", "immediate", "-w", "-t", "30")
        if log_copy is not None and log.exists():
            shutil.copyfile(log, log_copy)
        shutil.rmtree(folder, ignore_errors=True)


def _execute(url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) in the cluster's ``postgres`` database."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> Iterator[str]:
    """The URL of an empty database on a PostgreSQL server started for this test session."""
    require_component(importlib.util.find_spec("psycopg") is not None, "the PostgreSQL driver psycopg",
                      "pip install -e '.[postgres]'")
    with throwaway_cluster(log_copy=tmp_path_factory.mktemp("postgres") / "server.log") as socket_dir:
        url = url_for(socket_dir, DATABASE)
        _execute(url, f'CREATE DATABASE "{DATABASE}"')
        yield url


@pytest.fixture
def fresh_postgres_url(postgres_url) -> Iterator[str]:
    """The URL of a new empty database for this test alone; it is dropped when the test ends."""
    from sqlalchemy.engine import make_url

    name = f"course_test_{uuid.uuid4().hex[:12]}"
    url = url_for(make_url(postgres_url).query["host"], name)
    _execute(postgres_url, f'CREATE DATABASE "{name}"')
    yield url
    _execute(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
