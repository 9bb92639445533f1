"""Can the course keep its gradebook in PostgreSQL, and does a wrong ``--db`` get a one-line answer?

The server is a throwaway cluster started by tests/pg_cluster.py; without PostgreSQL installed the tests that
need it are skipped, naming the install command (in CI they fail). The URL checks need no server.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from autograder.course import ROOT, SAMPLE_SUBMISSIONS
from autograder.database import DatabaseSetupError, check_database_url

# the fixtures postgres_url and fresh_postgres_url (pytest allows this in a test module, not in a nested conftest)

COURSE = Path(sys.executable).parent / "course"
# grades.csv columns that legitimately differ between two gradings of the same work (when and how fast)
VARYING = {"graded_at", "seconds", "sandbox"}


def _query(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def _execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(sql)
    finally:
        engine.dispose()


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _databases(url: str) -> set[str]:
    return {name for (name,) in _query(url, "SELECT datname FROM pg_database")}


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting to be reaped counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _server_processes(postmaster: int) -> list[int]:
    """The postmaster and its children (backends, checkpointer, ...)."""
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(int(p.name)) == postmaster]
    return [postmaster, *children]


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


# --- the throwaway cluster -------------------------------------------------------------------------------


def test_session_url_reaches_an_empty_database(postgres_url):
    """Does the session's URL connect through SQLAlchemy and psycopg 3 to an empty database, as the superuser?"""
    assert postgres_url.startswith("postgresql+psycopg://")
    assert _query(postgres_url, "SELECT current_user, current_database()") == [("postgres", "course_test")]
    assert _tables(postgres_url) == []


def test_server_is_private_and_not_root(postgres_url):
    """Does the server listen on no network address, and run as an unprivileged user rather than root?"""
    assert _query(postgres_url, "SHOW listen_addresses") == [("",)]
    (data_directory,), = _query(postgres_url, "SHOW data_directory")
    postmaster = int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
    assert Path(f"/proc/{postmaster}").stat().st_uid != 0


@pytest.fixture
def must_be_dropped(postgres_url):
    """Database names a test hands over; after the test's other fixtures are torn down, none may remain."""
    names: list[str] = []
    yield names
    left = set(names) & _databases(postgres_url)
    assert not left, f"fresh_postgres_url left its database(s) behind: {sorted(left)}"


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_gets_its_own_empty_database(attempt, must_be_dropped, fresh_postgres_url, postgres_url):
    """Does every test get a new empty database (not the session's, not a previous test's), dropped afterwards?"""
    name = fresh_postgres_url.split("/")[3].split("?")[0]
    must_be_dropped.append(name)
    assert name in _databases(postgres_url) and name != "course_test"
    assert _tables(fresh_postgres_url) == []
    _execute(fresh_postgres_url, "CREATE TABLE left_by_a_test (x int)")  # the next attempt must not see it


def test_cluster_stops_and_is_removed_even_when_the_test_fails():
    """When the code using a cluster raises, is every server process stopped and the folder removed?"""
    from pg_cluster import throwaway_cluster  # here, once pytest_plugins has loaded it (with assertion rewriting)

    with pytest.raises(RuntimeError, match="the test failed"), throwaway_cluster() as folder:
        postmaster = int((folder / "data" / "postmaster.pid").read_text().split()[0])
        processes = _server_processes(postmaster)
        assert len(processes) > 1 and all(map(_alive, processes))
        raise RuntimeError("the test failed")
    assert not [pid for pid in processes if _alive(pid)], "server processes outlived the cluster"
    assert not folder.exists()


# --- check_database_url ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["sqlite:///some/course/gradebook.db", "sqlite://"])
def test_sqlite_urls_pass(url):
    """Does a SQLite URL pass the check, even one whose folder does not exist yet (nothing is opened)?"""
    check_database_url(url)


def test_a_working_postgresql_url_passes(postgres_url):
    """Do both spellings of a reachable PostgreSQL URL pass: the default driver, and +psycopg explicitly?"""
    check_database_url(postgres_url)
    check_database_url(postgres_url.replace("postgresql+psycopg://", "postgresql://"))


def _problem(url: str) -> str:
    with pytest.raises(DatabaseSetupError) as raised:
        check_database_url(url)
    message = str(raised.value)
    assert "\n" not in message, f"the message must be one line: {message!r}"
    return message


@pytest.mark.parametrize(("url", "module", "install"), [
    ("postgresql://grader:secret@db.example.org/course", "psycopg", "pip install -e '.[postgres]'"),
    ("postgresql+psycopg://grader:secret@db.example.org/course", "psycopg", "pip install 'psycopg[binary]'"),
    ("postgresql+psycopg2://grader:secret@db.example.org/course", "psycopg2", "pip install psycopg2-binary"),
])
def test_a_missing_driver_names_the_install_command(monkeypatch, url, module, install):
    """Without the driver a PostgreSQL URL needs, is the answer one line naming the module and the install command
    (and not the password)?"""
    monkeypatch.setitem(sys.modules, module, None)  # makes `import <module>` fail as if it were not installed
    message = _problem(url)
    assert f"'{module}'" in message and install in message
    assert "secret" not in message


@pytest.mark.parametrize("url", ["not a url", "", "postgresql://grader@db.example.org:fivefourthreetwo/course"])
def test_a_malformed_url_says_what_a_url_looks_like(url):
    """Is a URL that cannot be parsed answered with one line showing the two accepted forms?"""
    message = _problem(url)
    assert "malformed" in message and "sqlite:///" in message and "postgresql://" in message


@pytest.mark.parametrize(("url", "words"), [
    ("mysql://grader@db.example.org/course", ("mysql", "does not support", "postgresql://")),
    ("postgres://grader@db.example.org/course", ("write postgresql://",)),
    ("postgresql+nosuchdriver://grader@db.example.org/course", ("nosuchdriver", "postgresql://")),
])
def test_an_unsupported_database_is_named(url, words):
    """Is a backend or driver the course cannot use named in a one-line answer saying what to use instead?"""
    message = _problem(url)
    assert all(word in message for word in words), message


# --- end to end ------------------------------------------------------------------------------------------


def _course(*args: str) -> None:
    done = subprocess.run([str(COURSE), *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"course {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"


def _grades(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return [{k: v for k, v in row.items() if k not in VARYING}
                for row in csv.DictReader(stream)]


@pytest.mark.slow
def test_slow_postgresql_gradebook_gives_the_same_grades_as_sqlite(tmp_path, fresh_postgres_url):
    """Slow (grades the samples twice): does grading into PostgreSQL give the same grades.csv as into SQLite?"""
    sqlite_course, postgres_course = tmp_path / "sqlite", tmp_path / "postgres"
    sqlite_course.mkdir(), postgres_course.mkdir()
    for course in (["--course", str(sqlite_course)], ["--db", fresh_postgres_url, "--course", str(postgres_course)]):
        _course("grade", str(SAMPLE_SUBMISSIONS), *course, "--quiet")
        _course("export", *course)

    expected = _grades(sqlite_course / "grades.csv")
    assert any(float(row["total"]) > 0 for row in expected), (
        "the SQLite reference grading gave no points to any sample submission: grading itself is broken here "
        f"(see {sqlite_course}/autograded/*/*/results.json), so this test cannot compare gradebooks")
    assert _grades(postgres_course / "grades.csv") == expected
    assert not (postgres_course / "gradebook.db").exists(), "--db was ignored: a SQLite gradebook was written"
    assert _query(fresh_postgres_url, "SELECT count(*) FROM grade")[0][0] > 0


def test_the_cli_refuses_a_gradebook_url_it_cannot_use_in_one_line(tmp_path):
    """Does `course grade --db` with an unusable URL stop before grading, with one line and no traceback?"""
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(tmp_path), "--db", "mysql://u@h/db",
                             "--course", str(tmp_path / "course")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "mysql, which the course does not support" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "course").exists()
