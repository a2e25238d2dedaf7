"""The task store: accepting tasks idempotently (task + first event + outbox message in one transaction),
moving them through their statuses, and the views the control endpoints show."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, event, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from . import fastjson
from .db import UNAVAILABLE, own_connection, transaction
from .ids import uuid4_hex
from .models import OUTBOX_CHANNEL, OutboxMessage, Task, TaskEvent, TaskStatus, utcnow
from .secrets import SecretBox

log = logging.getLogger("hub.tasks")



class IdempotencyConflict(Exception):
    """The key is already used by a task with a different body."""


@dataclass(frozen=True)
class TaskView:
    """A task as callers may see it: never its secret."""

    id: str
    key: str
    kind: str
    status: str
    reason_code: str | None
    reason_text: str | None
    attempts: int
    payload: dict
    result: dict | None
    created_at: datetime
    updated_at: datetime
    history: tuple[tuple[str, datetime, str | None], ...] = ()

    @classmethod
    def of(cls, task: Task, with_history: bool = False) -> TaskView:
        history = tuple((e.status, e.at, e.detail) for e in task.events) if with_history else ()
        return cls(task.id, task.key, task.kind, task.status, task.reason_code, task.reason_text,
                   task.attempts, dict(task.payload), task.result, task.created_at, task.updated_at, history)

    @classmethod
    def of_row(cls, row) -> TaskView:
        """From a row of `_VIEW_COLUMNS` (a start's or a finish's RETURNING)."""
        return cls(row[0], row[1], row[2], row[3], row[4], row[5], row[6], dict(row[7]), row[8], row[9], row[10])


@dataclass(frozen=True)
class Submitted:
    task: TaskView
    created: bool  # False: an identical earlier request; the existing task is returned


@dataclass(frozen=True)
class Started:
    """A task the worker has just moved to `processing`, with its decrypted secret (for the handler)."""

    task: TaskView
    secret: dict


# The columns a TaskView is made of, in its order (the writers' RETURNING lists).
_VIEW_COLUMNS = ("id", "key", "kind", "status", "reason_code", "reason_text", "attempts", "payload", "result",
                 "created_at", "updated_at")
# A task may start unless it is final; a dead-lettered one may start again (replayed from the DLQ).
_MAY_START = f"""(status NOT IN ('{TaskStatus.CREATED}', '{TaskStatus.ERROR}', '{TaskStatus.CANCELLED}')
                 OR (status = '{TaskStatus.ERROR}' AND reason_code = 'dead_lettered'))"""


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") + "Z" if moment else None


_INSERTED, _RESOLVE = "inserted", "resolve"  # outcomes of an entry besides an exception


class _Entry:
    """One submit waiting for its group commit."""

    __slots__ = ("key", "fingerprint", "row", "outcome", "lead", "done")

    def __init__(self, key: str, fingerprint: str, row: dict):
        self.key, self.fingerprint, self.row = key, fingerprint, row
        self.outcome: str | BaseException | None = None
        self.lead = False  # set when the entry's caller is handed the lead
        self.done = threading.Lock()  # held until the entry is written or its caller leads (cheaper than an Event)
        self.done.acquire()


class _GroupCommitter:
    """Leader/follower group commit without a thread of its own. A caller that finds no batch being
    written leads: it writes every entry queued so far (its own first) with `write`, which sets each
    entry's outcome, then wakes those callers and hands the lead to the first entry queued meanwhile.
    Alone (no concurrency), a caller writes its own entry at once, as a plain transaction would."""

    def __init__(self, write: Callable[[list[_Entry]], None], max_batch: int = 100):
        self._write = write
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Entry] = []
        self._busy = False  # a leader is writing; invariant: not busy -> queue empty

    def run(self, entry: _Entry) -> str:
        with self._lock:
            self._queue.append(entry)
            lead, self._busy = not self._busy, True
        if not lead:
            entry.done.acquire()
            if not entry.lead:
                return _outcome(entry)
        with self._lock:
            batch = self._queue[:self._max_batch]
            del self._queue[:self._max_batch]
        try:
            self._write(batch)
        finally:
            for other in batch:
                if other.outcome is None:  # write() raised (a bug) or was interrupted
                    other.outcome = RuntimeError("group commit failed")
            with self._lock:
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._busy = False
                else:
                    successor.lead = True
            for other in batch:
                if other is not entry:
                    other.done.release()
            if successor is not None:
                successor.done.release()
        return _outcome(entry)


def _outcome(entry: _Entry) -> str:
    if isinstance(entry.outcome, BaseException):
        raise entry.outcome
    return entry.outcome


def _body(row: dict) -> str:
    return fastjson.dumps({"task_id": row["id"], "key": row["key"], "kind": row["kind"]})


class _StoreWriter:
    """The task store's statements on every order's path, each one transaction with its status event:
    `write` (the intake batch), `start` and `finish` (the worker's transitions)."""

    unavailable = UNAVAILABLE  # the database is away: do not retry

    def write(self, rows: list[dict]) -> dict[str, str]:
        """Insert new tasks (dicts of `tasks` columns) with their first events and outbox messages;
        returns {key: id} of the tasks inserted (a key already taken is skipped)."""
        raise NotImplementedError

    def start(self, task_id: str, instance: str, at: datetime) -> tuple | None:
        """Move the task to `processing` and count the attempt, unless it is final (`_MAY_START`) or of
        another instance; returns its `_VIEW_COLUMNS` and its `secret`, or None."""
        raise NotImplementedError

    def finish(self, task_id: str, status: str, reason_code: str | None, reason_text: str | None,
               result: dict | None, forget_secret: bool, at: datetime) -> tuple:
        """Set the task's outcome (`result` None keeps the stored one; `forget_secret` drops the
        credentials); returns its `_VIEW_COLUMNS`."""
        raise NotImplementedError


class _SQLiteWriter(_StoreWriter):
    """SQLite: three statements on the driver's connection in one `BEGIN IMMEDIATE` transaction; the
    tasks go in as one JSON array (`json_each`), so that `ON CONFLICT DO NOTHING RETURNING` says which
    keys were free. Values are stored as SQLAlchemy stores them (JSON text, its timestamp format)."""

    def __init__(self, engine: Engine, queue: str):
        self.engine = engine
        self.queue = queue

    def write(self, rows: list[dict]) -> dict[str, str]:
        batch = {}
        for row in rows:
            at = row["created_at"]
            batch[row["id"]] = {
                "id": row["id"], "kind": row["kind"], "key": row["key"], "fingerprint": row["fingerprint"],
                "payload": fastjson.dumps(row["payload"]), "secret": row["secret"],
                "at": f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond:06d}", "body": _body(row)}
        with self.engine.begin() as conn:  # BEGIN IMMEDIATE (db.py)
            cursor = conn.connection.driver_connection.cursor()
            try:
                cursor.execute(_SQLITE_TASKS, (rows[0]["instance"], TaskStatus.PLACED,
                                               fastjson.dumps(list(batch.values()))))
                inserted = {key: task_id for task_id, key in cursor.fetchall()}
                if inserted:
                    new = [b for b in batch.values() if inserted.get(b["key"]) == b["id"]]
                    cursor.executemany(_SQLITE_EVENT, [(r["id"], TaskStatus.PLACED, r["at"]) for r in new])
                    cursor.executemany(_SQLITE_OUTBOX, [(self.queue, r["id"], r["body"], r["at"]) for r in new])
            finally:
                cursor.close()
        return inserted

    def start(self, task_id: str, instance: str, at: datetime) -> tuple | None:
        statement = (update(Task).where(Task.id == task_id, Task.instance == instance, text(_MAY_START))
                     .values(status=TaskStatus.PROCESSING, reason_code=None, reason_text=None,
                             attempts=Task.attempts + 1, updated_at=at)
                     .returning(*_view_columns(), Task.secret))
        with self.engine.begin() as conn:
            row = conn.execute(statement).one_or_none()
            if row is not None:
                conn.execute(insert(TaskEvent).values(task_id=task_id, status=TaskStatus.PROCESSING, at=at))
        return row

    def finish(self, task_id: str, status: str, reason_code: str | None, reason_text: str | None,
               result: dict | None, forget_secret: bool, at: datetime) -> tuple:
        values = {"status": status, "reason_code": reason_code, "reason_text": reason_text, "updated_at": at}
        if result is not None:
            values["result"] = result
        if forget_secret:
            values["secret"] = None
        with self.engine.begin() as conn:
            row = conn.execute(update(Task).where(Task.id == task_id).values(**values)
                               .returning(*_view_columns())).one()
            conn.execute(insert(TaskEvent).values(task_id=task_id, status=status, detail=reason_text, at=at))
        return row


def _view_columns() -> list:
    return [getattr(Task, name) for name in _VIEW_COLUMNS]


_SQLITE_TASKS = """
INSERT INTO tasks (id, instance, kind, key, fingerprint, payload, secret, status, attempts, created_at, updated_at)
SELECT json_extract(value, '$.id'), ?1, json_extract(value, '$.kind'), json_extract(value, '$.key'),
       json_extract(value, '$.fingerprint'), json_extract(value, '$.payload'), json_extract(value, '$.secret'),
       ?2, 0, json_extract(value, '$.at'), json_extract(value, '$.at')
FROM json_each(?3) WHERE true
ON CONFLICT (instance, key) DO NOTHING
RETURNING id, key
"""
_SQLITE_EVENT = "INSERT INTO task_events (task_id, status, at) VALUES (?, ?, ?)"
_SQLITE_OUTBOX = "INSERT INTO outbox (queue, message_id, body, created_at, attempts) VALUES (?, ?, ?, ?, 0)"


# One statement writes the whole batch: a single statement is one transaction, so it runs in autocommit
# mode (no BEGIN/COMMIT round trips), prepared once on the server. The rows travel as one JSON array (one
# json.dumps instead of a parameter per column and row), so the statement's text is the same for any batch.
# `pg_notify` wakes the outbox relays LISTENing in other processes (models.OUTBOX_CHANNEL) once the batch
# has committed; PostgreSQL sends one notification per transaction however many rows call it.
_PG_BATCH = f"""
WITH batch AS (
    SELECT * FROM json_to_recordset(%(rows)s::json)
        AS b(id varchar, kind varchar, key varchar, fingerprint varchar, payload json, secret text,
             created_at timestamp, body text)
), new AS (
    INSERT INTO tasks (id, instance, kind, key, fingerprint, payload, secret, status, attempts, created_at,
                       updated_at)
    SELECT id, %(instance)s, kind, key, fingerprint, payload, secret, %(status)s, 0, created_at, created_at
    FROM batch
    ON CONFLICT (instance, key) DO NOTHING
    RETURNING id, key
), events AS (
    INSERT INTO task_events (task_id, status, at)
    SELECT new.id, %(status)s, batch.created_at FROM new JOIN batch USING (id)
), messages AS (
    INSERT INTO outbox (queue, message_id, body, created_at, attempts)
    SELECT %(queue)s, new.id, batch.body, batch.created_at, 0 FROM new JOIN batch USING (id)
    ORDER BY batch.created_at
)
SELECT id, key, pg_notify('{OUTBOX_CHANNEL}', '') FROM new
"""


# A worker's transitions, each one statement (so one round trip and one commit) like the batch.
_PG_START = f"""
WITH moved AS (
    UPDATE tasks SET status = %(status)s, reason_code = NULL, reason_text = NULL, attempts = attempts + 1,
                     updated_at = %(at)s
    WHERE id = %(id)s AND instance = %(instance)s AND {_MAY_START}
    RETURNING {", ".join(_VIEW_COLUMNS)}, secret
), event AS (
    INSERT INTO task_events (task_id, status, at) SELECT id, status, %(at)s FROM moved
)
SELECT * FROM moved
"""
_PG_FINISH = f"""
WITH moved AS (
    UPDATE tasks SET status = %(status)s, reason_code = %(reason_code)s, reason_text = %(reason_text)s,
                     updated_at = %(at)s, result = COALESCE(%(result)s::json, result),
                     secret = CASE WHEN %(forget_secret)s THEN NULL ELSE secret END
    WHERE id = %(id)s
    RETURNING {", ".join(_VIEW_COLUMNS)}
), event AS (
    INSERT INTO task_events (task_id, status, detail, at) SELECT id, status, reason_text, %(at)s FROM moved
)
SELECT * FROM moved
"""


class _PostgresWriter(_StoreWriter):
    """PostgreSQL: each write one prepared statement on a connection of the writer's own (autocommit),
    used by one caller at a time (the group-commit leader, the worker) and closed when the engine is
    disposed."""

    def __init__(self, engine: Engine, instance: str, queue: str):
        self.engine = engine
        self.instance = instance
        self.queue = queue
        self._conn = None
        self._lock = threading.Lock()
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def write(self, rows: list[dict]) -> dict[str, str]:
        batch = [{"id": row["id"], "kind": row["kind"], "key": row["key"], "fingerprint": row["fingerprint"],
                  "payload": row["payload"], "secret": row["secret"], "created_at": row["created_at"].isoformat(),
                  "body": _body(row)} for row in rows]
        params = {"rows": fastjson.dumps(batch), "instance": self.instance, "queue": self.queue,
                  "status": TaskStatus.PLACED}
        return {key: task_id for task_id, key, _ in self._run(_PG_BATCH, params)}

    def start(self, task_id: str, instance: str, at: datetime) -> tuple | None:
        rows = self._run(_PG_START, {"id": task_id, "instance": instance, "status": TaskStatus.PROCESSING, "at": at})
        return rows[0] if rows else None

    def finish(self, task_id: str, status: str, reason_code: str | None, reason_text: str | None,
               result: dict | None, forget_secret: bool, at: datetime) -> tuple:
        (row,) = self._run(_PG_FINISH, {
            "id": task_id, "status": status, "reason_code": reason_code, "reason_text": reason_text, "at": at,
            "result": None if result is None else fastjson.dumps(result), "forget_secret": forget_secret})
        return row

    def _run(self, statement: str, params: dict) -> list[tuple]:
        """Run one statement (its own transaction) and return its rows."""
        with self._lock:
            fresh = self._conn is None
            try:
                return self._connection().execute(statement, params, prepare=True).fetchall()
            except self.unavailable:
                self._close_broken()
                if fresh:
                    raise
            # a connection kept from before failed (the server restarted, or closed it): once more on a new one
            return self._connection().execute(statement, params, prepare=True).fetchall()

    def _connection(self):
        if self._conn is None:
            self._conn = own_connection(self.engine)
        return self._conn

    def _close_broken(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._close_broken()


class TaskStore:
    def __init__(self, sessions: sessionmaker[Session], instance: str, queue: str, box: SecretBox):
        self.sessions = sessions
        self.instance = instance
        self.queue = queue
        self.box = box
        engine = sessions.kw["bind"]
        if engine.dialect.name == "postgresql":
            self._writer: _StoreWriter = _PostgresWriter(engine, instance, queue)
        elif engine.dialect.name == "sqlite":
            self._writer = _SQLiteWriter(engine, queue)
        else:
            raise ValueError(f"no task store for a {engine.dialect.name} database")
        self._committer = _GroupCommitter(self._commit_batch)

    # --- intake -------------------------------------------------------------------------------------
    def submit(self, kind: str, key: str, payload: dict, secret: dict | None = None) -> Submitted:
        """Store a new task with its first event and outbox message, or return the identical existing one.

        Raises `IdempotencyConflict` when `key` is taken by a task with another body.

        Group commit: concurrent submits are written together, in one transaction with one multi-row
        INSERT per table (`_commit_batch`). The caller returns once the transaction holding its task has
        committed. New keys are the common case, so the insert is tried first (`ON CONFLICT DO NOTHING`);
        a key that was not inserted (taken already, or twice in the batch) is then resolved by its
        caller: same fingerprint -> the existing task, another -> `IdempotencyConflict`."""
        fingerprint = self.box.fingerprint({"payload": payload, "secret": secret})
        task_id, now = uuid4_hex(), utcnow()
        entry = _Entry(key, fingerprint, {
            "id": task_id, "instance": self.instance, "kind": kind, "key": key,
            "fingerprint": fingerprint, "payload": payload,
            "secret": self.box.encrypt(secret) if secret else None, "status": TaskStatus.PLACED,
            "reason_code": None, "reason_text": None, "result": None, "attempts": 0,
            "created_at": now, "updated_at": now,
        })
        outcome = self._committer.run(entry)
        if outcome is _INSERTED:
            view = TaskView(task_id, key, kind, TaskStatus.PLACED, None, None, 0, payload, None, now, now)
            return Submitted(view, created=True)
        return self._resolve(entry)

    def _resolve(self, entry: _Entry) -> Submitted:
        """The key was not inserted: answer with the existing task, or refuse another body."""
        existing = self._by_key(entry.key)
        if existing is None:  # the task that held the key went away meanwhile: try once more, alone
            if self._write_batch([entry]).get(entry.key) == entry.row["id"]:
                row = entry.row
                view = TaskView(row["id"], row["key"], row["kind"], TaskStatus.PLACED, None, None, 0,
                                row["payload"], None, row["created_at"], row["created_at"])
                return Submitted(view, created=True)
            existing = self._by_key(entry.key)
            if existing is None:
                raise RuntimeError(f"task {entry.key!r} neither inserted nor found")
        if existing.fingerprint != entry.fingerprint:
            raise IdempotencyConflict(entry.key) from None
        return Submitted(TaskView.of(existing), created=False)

    def _commit_batch(self, entries: list[_Entry]) -> None:
        """Write a batch in one transaction and set each entry's outcome. If the batch fails as a whole,
        each entry is tried alone, so that one bad entry fails only its own request."""
        try:
            inserted = self._write_batch(entries)
        except Exception as exc:  # noqa: BLE001 - handed to the callers below
            if len(entries) == 1 or isinstance(exc, self._writer.unavailable):  # alone, or no database
                for entry in entries:
                    entry.outcome = exc
                return
            log.warning("group commit of %d tasks failed (%r); writing them one by one", len(entries), exc)
            for entry in entries:
                self._commit_batch([entry])
            return
        for entry in entries:
            entry.outcome = _INSERTED if inserted.get(entry.key) == entry.row["id"] else _RESOLVE

    def _write_batch(self, entries: list[_Entry]) -> dict[str, str]:
        """One transaction: insert the tasks whose key is free, with their first events and outbox
        messages. Returns {key: id} of the tasks inserted (the first entry of a key repeated in the batch)."""
        rows, seen = [], set()
        for entry in entries:
            if entry.key not in seen:
                seen.add(entry.key)
                rows.append(entry.row)
        return self._writer.write(rows)

    def _by_key(self, key: str) -> Task | None:
        with self.sessions() as session:
            return session.scalar(select(Task).where(Task.instance == self.instance, Task.key == key))

    # --- reading ------------------------------------------------------------------------------------
    def get(self, task_id: str, with_history: bool = False) -> TaskView | None:
        with self.sessions() as session:
            task = session.get(Task, task_id)
            return TaskView.of(task, with_history) if task and task.instance == self.instance else None

    def find(self, key: str, with_history: bool = True) -> TaskView | None:
        with self.sessions() as session:
            task = session.scalar(select(Task).where(Task.instance == self.instance, Task.key == key))
            return TaskView.of(task, with_history) if task else None

    def pending(self, limit: int = 1000) -> list[TaskView]:
        with self.sessions() as session:
            rows = session.scalars(
                select(Task).where(Task.instance == self.instance, Task.status.in_(TaskStatus.PENDING))
                .order_by(Task.created_at).limit(limit)
            )
            return [TaskView.of(t) for t in rows]

    def count_pending(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(Task).where(
                Task.instance == self.instance, Task.status.in_(TaskStatus.PENDING)))

    def count_by_status(self) -> dict[str, int]:
        with self.sessions() as session:
            rows = session.execute(select(Task.status, func.count()).where(Task.instance == self.instance)
                                   .group_by(Task.status))
            return {status: count for status, count in rows}

    def secret_of(self, task_id: str) -> dict:
        with self.sessions() as session:
            token = session.scalar(select(Task.secret).where(Task.id == task_id))
        return self.box.decrypt(token) if token else {}

    # --- transitions --------------------------------------------------------------------------------
    def begin(self, task_id: str) -> Started | None:
        """Mark a task `processing` and count the attempt, in one statement; returns it with its secret,
        or None when there is nothing to do: the task is unknown or final (created, cancelled, or an
        error that was not dead-lettered)."""
        row = self._writer.start(task_id, self.instance, utcnow())
        if row is None:
            return None
        return Started(TaskView.of_row(row), self.box.decrypt(row[-1]) if row[-1] else {})

    def finish(self, task_id: str, status: str, reason_code: str | None = None,
               reason_text: str | None = None, result: dict | None = None, forget_secret: bool = False) -> TaskView:
        """Set a task's outcome, in one statement; `forget_secret` drops its stored credentials (a final
        task needs them no longer)."""
        return TaskView.of_row(self._writer.finish(task_id, status, reason_code, reason_text, result,
                                                   forget_secret, utcnow()))

    def note(self, task_id: str, detail: str) -> None:
        """Record something that happened to a task (a retry, a redelivery) in its history."""
        with transaction(self.sessions) as session:
            task = session.get(Task, task_id)
            session.add(TaskEvent(task_id=task_id, status=task.status, detail=detail[:2000]))

    def release(self, task_id: str, detail: str) -> None:
        """Put a task back to `placed` (the worker stopped before finishing it; the broker redelivers)."""
        with transaction(self.sessions) as session:
            task = session.get(Task, task_id, with_for_update=True)
            if task.status == TaskStatus.PROCESSING:
                self._move(session, task, TaskStatus.PLACED, None, None, detail)

    def cancel_pending(self, include_running: bool = False) -> list[str]:
        """Cancel every task not yet being processed; they stay visible with status `cancelled`. With
        `include_running`, tasks being processed are cancelled too: their handler sees it through
        `Job.cancel_requested` and stops (for work that can stop half-way, such as a report)."""
        statuses = [TaskStatus.PLACED] + ([TaskStatus.PROCESSING] if include_running else [])
        with transaction(self.sessions) as session:
            tasks = session.scalars(select(Task).where(
                Task.instance == self.instance, Task.status.in_(statuses)).order_by(Task.created_at)
                .with_for_update()).all()
            for task in tasks:
                running = task.status == TaskStatus.PROCESSING
                self._move(session, task, TaskStatus.CANCELLED, "cancelled",
                           "cancelled while running" if running else "cleared from the queue")
            ids = [t.id for t in tasks]
            if ids:
                session.execute(delete(OutboxMessage).where(OutboxMessage.message_id.in_(ids)))
            return [t.key for t in tasks]

    def is_cancelled(self, task_id: str) -> bool:
        """Whether the task was cancelled (a running handler asks, through `Job.cancel_requested`)."""
        with self.sessions() as session:
            return session.scalar(select(Task.status).where(Task.id == task_id)) == TaskStatus.CANCELLED

    @staticmethod
    def _move(session: Session, task: Task, status: str, reason_code: str | None,
              reason_text: str | None, detail: str | None = None) -> None:
        task.status = status
        task.reason_code = reason_code
        task.reason_text = reason_text
        task.updated_at = utcnow()
        session.add(TaskEvent(task_id=task.id, status=status, detail=detail or reason_text))
