"""The task store: accepting tasks idempotently (task + first event + outbox message in one transaction),
moving them through their statuses, and the views the control endpoints show."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .db import transaction
from .models import OutboxMessage, Task, TaskEvent, TaskStatus, utcnow
from .secrets import SecretBox

_INSERT_TASK = insert(Task.__table__)
_INSERT_EVENT = insert(TaskEvent.__table__)
_INSERT_OUTBOX = insert(OutboxMessage.__table__)


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


@dataclass(frozen=True)
class Submitted:
    task: TaskView
    created: bool  # False: an identical earlier request; the existing task is returned


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") + "Z" if moment else None


class TaskStore:
    def __init__(self, sessions: sessionmaker[Session], instance: str, queue: str, box: SecretBox):
        self.sessions = sessions
        self.instance = instance
        self.queue = queue
        self.box = box

    # --- intake -------------------------------------------------------------------------------------
    def submit(self, kind: str, key: str, payload: dict, secret: dict | None = None) -> Submitted:
        """Store a new task with its first event and outbox message, or return the identical existing one.

        Raises `IdempotencyConflict` when `key` is taken by a task with another body. The insert is tried
        first (one transaction, three statements): new keys are the common case, and the unique constraint
        settles concurrent requests with the same key."""
        fingerprint = self.box.fingerprint({"payload": payload, "secret": secret})
        task_id, now = uuid.uuid4().hex, utcnow()
        try:
            with transaction(self.sessions) as session:
                conn = session.connection()  # Core statements without .values(): compiled once, cached
                conn.execute(_INSERT_TASK, {
                    "id": task_id, "instance": self.instance, "kind": kind, "key": key,
                    "fingerprint": fingerprint, "payload": payload,
                    "secret": self.box.encrypt(secret) if secret else None, "status": TaskStatus.PLACED,
                    "reason_code": None, "reason_text": None, "result": None, "attempts": 0,
                    "created_at": now, "updated_at": now,
                })
                conn.execute(_INSERT_EVENT, {"task_id": task_id, "status": TaskStatus.PLACED, "detail": None,
                                             "at": now})
                conn.execute(_INSERT_OUTBOX, {
                    "queue": self.queue, "message_id": task_id, "created_at": now, "attempts": 0,
                    "last_error": None, "body": json.dumps({"task_id": task_id, "key": key, "kind": kind}),
                })
        except IntegrityError:
            existing = self._by_key(key)
            if existing is None:
                raise
            if existing.fingerprint != fingerprint:
                raise IdempotencyConflict(key) from None
            return Submitted(TaskView.of(existing), created=False)
        view = TaskView(task_id, key, kind, TaskStatus.PLACED, None, None, 0, payload, None, now, now)
        return Submitted(view, created=True)

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
    def begin(self, task_id: str) -> TaskView | None:
        """Mark a task `processing` and count the attempt. Returns None when there is nothing to do: the
        task is unknown or final (created, cancelled, or an error that was not dead-lettered)."""
        with transaction(self.sessions) as session:
            task = session.get(Task, task_id, with_for_update=True)
            if task is None or task.instance != self.instance:
                return None
            if task.status in TaskStatus.FINAL and not (
                task.status == TaskStatus.ERROR and task.reason_code == "dead_lettered"
            ):
                return None
            self._move(session, task, TaskStatus.PROCESSING, None, None)
            task.attempts += 1
            return TaskView.of(task)

    def finish(self, task_id: str, status: str, reason_code: str | None = None,
               reason_text: str | None = None, result: dict | None = None, forget_secret: bool = False) -> TaskView:
        """Set a task's outcome; `forget_secret` drops its stored credentials in the same transaction (a
        final task needs them no longer)."""
        with transaction(self.sessions) as session:
            task = session.get(Task, task_id, with_for_update=True)
            self._move(session, task, status, reason_code, reason_text)
            if result is not None:
                task.result = result
            if forget_secret:
                task.secret = None
            return TaskView.of(task)

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

    def cancel_pending(self) -> list[str]:
        """Cancel every task not yet being processed; they stay visible with status `cancelled`."""
        with transaction(self.sessions) as session:
            tasks = session.scalars(select(Task).where(
                Task.instance == self.instance, Task.status == TaskStatus.PLACED).with_for_update()).all()
            for task in tasks:
                self._move(session, task, TaskStatus.CANCELLED, "cancelled", "cleared from the queue")
            ids = [t.id for t in tasks]
            if ids:
                session.execute(delete(OutboxMessage).where(OutboxMessage.message_id.in_(ids)))
            return [t.key for t in tasks]

    @staticmethod
    def _move(session: Session, task: Task, status: str, reason_code: str | None,
              reason_text: str | None, detail: str | None = None) -> None:
        task.status = status
        task.reason_code = reason_code
        task.reason_text = reason_text
        task.updated_at = utcnow()
        session.add(TaskEvent(task_id=task.id, status=status, detail=detail or reason_text))
