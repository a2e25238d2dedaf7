"""Tables of the runtime: tasks with their status history, the outbox, and worker control/heartbeat.

A *task* is one unit of work an instance accepted (an oil order, later a report job). It is the system of
record: it exists, with its first status event and its outbox message, before the caller gets an answer.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Naive UTC (SQLite keeps no time zone; every timestamp in the hub is UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class TaskStatus:
    PLACED = "placed"
    PROCESSING = "processing"
    CREATED = "created"
    ERROR = "error"
    CANCELLED = "cancelled"

    PENDING = (PLACED, PROCESSING)
    FINAL = (CREATED, ERROR, CANCELLED)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("instance", "key", name="uq_tasks_instance_key"),
        Index("ix_tasks_instance_status", "instance", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    instance: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    secret: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.PLACED)
    reason_code: Mapped[str | None] = mapped_column(String(64), default=None)
    reason_text: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    events: Mapped[list[TaskEvent]] = relationship(
        back_populates="task", order_by="TaskEvent.id", cascade="all, delete-orphan"
    )


class TaskEvent(Base):
    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    task: Mapped[Task] = relationship(back_populates="events")


OUTBOX_CHANNEL = "hub_outbox"  # PostgreSQL: the NOTIFY channel that wakes the outbox relays


class OutboxMessage(Base):
    """A message committed with its task, published to the broker by the relay, then deleted."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class WorkerState(Base):
    """What the operator wants the worker to do (`desired`) and what the worker last said it does."""

    __tablename__ = "worker_state"

    instance: Mapped[str] = mapped_column(String(200), primary_key=True)
    desired: Mapped[str] = mapped_column(String(20), default="running")
    desired_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reported: Mapped[str | None] = mapped_column(String(20), default=None)
    pid: Mapped[int | None] = mapped_column(Integer, default=None)
    host: Mapped[str | None] = mapped_column(String(200), default=None)
    current_task: Mapped[str | None] = mapped_column(String(32), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
