"""`TaskStore`: accepting tasks idempotently (task + first event + outbox message in one transaction),
moving them through their statuses, and reading them back as views."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, delete, func, inspect, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ..db import transaction
from ..errors import IdempotencyConflict, NotReplayable
from ..ids import uuid4_hex
from ..models import OUTBOX_CHANNEL, OutboxMessage, Task, TaskEvent, TaskStatus, utcnow
from ..secrets import SecretBox
from .group_commit import INSERTED, RESOLVE, Entry, GroupCommitter
from .postgres_writer import PostgresWriter
from .sqlite_writer import SQLiteWriter
from .views import Started, Submitted, TaskView
from .writer import StoreWriter, outbox_body

log = logging.getLogger("hub.tasks")


def reencrypt_task_secrets(engine: Engine, box: SecretBox) -> int:
    """Re-encrypt the stored credentials of every task in this database under `box`'s first key (after a
    new key was put first in HUB_SECRET_KEYS: `manager --rotate-secrets`); how many. 0 where no instance
    has made its tables yet."""
    if not inspect(engine).has_table(Task.__tablename__):
        return 0
    with engine.begin() as connection:
        rows = connection.execute(select(Task.id, Task.secret).where(Task.secret.is_not(None))
                                  .with_for_update()).all()
        for task_id, token in rows:
            connection.execute(update(Task).where(Task.id == task_id).values(secret=box.rotate(token)))
    return len(rows)


class TaskStore:
    def __init__(self, sessions: sessionmaker[Session], instance: str, queue: str, box: SecretBox):
        self.sessions = sessions
        self.instance = instance
        self.queue = queue
        self.box = box
        engine = sessions.kw["bind"]
        if engine.dialect.name == "postgresql":
            self._writer: StoreWriter = PostgresWriter(engine, instance, queue)
        elif engine.dialect.name == "sqlite":
            self._writer = SQLiteWriter(engine, queue)
        else:
            raise ValueError(f"no task store for a {engine.dialect.name} database")
        self._committer = GroupCommitter(self._commit_batch)

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
        entry = Entry(key, fingerprint, {
            "id": task_id, "instance": self.instance, "kind": kind, "key": key,
            "fingerprint": fingerprint, "payload": payload,
            "secret": self.box.encrypt(secret) if secret else None, "status": TaskStatus.PLACED,
            "reason_code": None, "reason_text": None, "result": None, "attempts": 0,
            "created_at": now, "updated_at": now,
        })
        outcome = self._committer.run(entry)
        if outcome is INSERTED:
            view = TaskView(task_id, key, kind, TaskStatus.PLACED, None, None, 0, payload, None, now, now)
            return Submitted(view, created=True)
        return self._resolve(entry)

    def _resolve(self, entry: Entry) -> Submitted:
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

    def _commit_batch(self, entries: list[Entry]) -> None:
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
            entry.outcome = INSERTED if inserted.get(entry.key) == entry.row["id"] else RESOLVE

    def _write_batch(self, entries: list[Entry]) -> dict[str, str]:
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
                task.secret = None  # final: its credentials are needed no longer (a running handler has its copy)
            ids = [t.id for t in tasks]
            if ids:
                session.execute(delete(OutboxMessage).where(OutboxMessage.message_id.in_(ids)))
            return [t.key for t in tasks]

    def replay(self, key: str) -> TaskView | None:
        """Send one dead-lettered task to the worker again: a new message through the outbox, committed with
        a `replay requested` event (the task keeps its status until the worker starts it; a copy of its old
        message still in the dead-letter queue is skipped once the task is final). None for an unknown
        key; `NotReplayable` unless the task was dead-lettered."""
        with transaction(self.sessions) as session:
            task = session.scalar(select(Task).where(Task.instance == self.instance, Task.key == key)
                                  .with_for_update())
            if task is None:
                return None
            if task.status != TaskStatus.ERROR or task.reason_code != "dead_lettered":
                raise NotReplayable(key, task.status, task.reason_code)
            session.add(OutboxMessage(queue=self.queue, message_id=task.id, created_at=utcnow(),
                                      body=outbox_body({"id": task.id, "key": task.key, "kind": task.kind})))
            session.add(TaskEvent(task_id=task.id, status=task.status, detail="replay requested"))
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})
            session.flush()
            return TaskView.of(task, with_history=True)

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
