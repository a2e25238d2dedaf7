"""What callers see of a task: `TaskView` (never its secret), the outcome of a submit, a started task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..models import Task

# The columns a TaskView is made of, in its order (the writers' RETURNING lists).
VIEW_COLUMNS = ("id", "key", "kind", "status", "reason_code", "reason_text", "attempts", "payload", "result",
                "created_at", "updated_at")


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
        """From a row of `VIEW_COLUMNS` (a start's or a finish's RETURNING)."""
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


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") + "Z" if moment else None
