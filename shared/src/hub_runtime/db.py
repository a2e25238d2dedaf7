"""Database access: engine from a URL as people write it, sessions, and migrations applied on start."""

from __future__ import annotations

import fcntl
import hashlib
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

try:
    from psycopg import InterfaceError as _DriverInterfaceError
    from psycopg import OperationalError as _DriverOperationalError
except ImportError:  # pragma: no cover - psycopg is a dependency; SQLite-only installs still work
    _DriverInterfaceError = _DriverOperationalError = OperationalError

MIGRATIONS = Path(__file__).with_name("migrations")

# The database cannot be reached now (down, restarting, a dropped connection, SQLite's file locked past
# its timeout): worth waiting for, unlike an error in a statement. Raw driver errors come from the
# connections kept outside the pool (`own_connection`).
UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, _DriverOperationalError,
                                            _DriverInterfaceError)


def brief(exc: Exception) -> str:
    """An error's type and first line, for a log line (driver messages run over several lines)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


def normalize_url(url: str) -> str:
    """`postgresql://…` and `postgres://…` use psycopg 3; anything else is kept as written."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, pool_size: int = 3, max_overflow: int = 10) -> Engine:
    """An engine for the URL. PostgreSQL keeps `pool_size` connections per process (many instances share
    one server: 2 processes per integration), opening up to `max_overflow` more under load."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow,
                         pool_recycle=1800)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # the driver's implicit BEGIN is replaced by _sqlite_begin_immediate
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(conn) -> None:
    """Take SQLite's write lock when a transaction starts: a read that later writes can then never fail
    with "database is locked" on upgrade, and several processes serialise cleanly on `busy_timeout`."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]):
    """A session that commits on success and rolls back on error."""
    with sessions() as session, session.begin():
        yield session


def migrate(engine: Engine, script_location: Path = MIGRATIONS, version_table: str = "alembic_version") -> None:
    """Upgrade the schema to head. Safe when several processes start at once: PostgreSQL takes an
    advisory lock, SQLite a file lock beside the database. A service with tables of its own passes its
    own migrations folder and version table (its `env.py` reads `config.attributes["version_table"]`)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["version_table"] = version_table
    if engine.dialect.name == "postgresql":
        key = int(hashlib.sha1(b"hub-migrations").hexdigest()[:15], 16)
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    database = engine.url.database
    lock_path = Path(f"{database}.migrate.lock") if database and database != ":memory:" else None
    lock = open(lock_path, "w") if lock_path else None  # noqa: SIM115 - held for the block below
    try:
        if lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    finally:
        if lock:
            lock.close()


def own_connection(engine: Engine, *, autocommit: bool = True):
    """A driver (DB-API) connection outside the engine's pool, for a thread that keeps one connection
    for itself (the task store's batch writer, the outbox relay's LISTEN); the caller closes it."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    conn = engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
    conn.autocommit = autocommit
    return conn


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - readiness reports, never raises
        return False
