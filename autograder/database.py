"""Check a gradebook URL (``--db``) before grading starts, so a wrong one gets one line that says what to do.

The gradebook is SQLite by default (``sqlite:///<course>/gradebook.db``) or PostgreSQL
(``--db postgresql://user@host/dbname``). Before this check, an operator who passed a PostgreSQL URL without
the PostgreSQL driver installed saw a raw ``ModuleNotFoundError: No module named 'psycopg'`` traceback from
deep inside SQLAlchemy, in the middle of a grading run; a mistyped URL gave a similar wall of text. Here each
of those becomes a :class:`DatabaseSetupError` whose one-line message names the problem and the fix.

The check does not connect: whether the server is up and the credentials work is learnt on first use.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SUPPORTED = ("sqlite", "postgresql")
EXAMPLES = "sqlite:///path/to/gradebook.db or postgresql://user@host/dbname"
# the Python module a driver imports -> how to install it
INSTALL = {
    "psycopg": "run `pip install -e '.[postgres]'` in the course folder, or `pip install 'psycopg[binary]'`",
    "psycopg2": "run `pip install psycopg2-binary`, or use postgresql:// (psycopg 3: "
                "`pip install -e '.[postgres]'` in the course folder)",
}


class DatabaseSetupError(Exception):
    """The gradebook URL cannot work here; the message (one line) says why and what to do."""


def check_database_url(url: str) -> None:
    """Raise :class:`DatabaseSetupError` unless ``url`` is a SQLite or PostgreSQL URL whose driver is installed."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as error:  # ValueError: a port that is not a number
        raise DatabaseSetupError(f"the gradebook URL {url!r} is malformed ({_first_line(error)}): "
                                 f"give --db as {EXAMPLES}") from None
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend == "postgres":
        raise DatabaseSetupError(f"the gradebook URL {shown!r} starts with postgres://, which SQLAlchemy does "
                                 "not accept: write postgresql:// instead")
    if backend not in SUPPORTED:
        raise DatabaseSetupError(f"the gradebook URL {shown!r} is for {backend}, which the course does not "
                                 f"support: use {EXAMPLES}")
    try:
        dialect = parsed.get_dialect()
    except ArgumentError:  # NoSuchModuleError: an unknown driver after the '+'
        raise DatabaseSetupError(f"the gradebook URL {shown!r} names a driver SQLAlchemy does not know "
                                 f"({parsed.drivername!r}): use {EXAMPLES}") from None
    try:
        dialect.import_dbapi()
    except ImportError as error:  # ModuleNotFoundError, or a driver that is installed but cannot load
        module = getattr(error, "name", None) or dialect.driver
        fix = INSTALL.get(module, f"install the Python package that provides {module!r}")
        raise DatabaseSetupError(f"the gradebook URL {shown!r} needs the Python module {module!r}, which cannot "
                                 f"be imported here ({_first_line(error)}): {fix}") from None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
