"""report-api's own tables. A report's lifecycle (placed → processing → created | error | cancelled) lives
in the runtime's `tasks` table; `report_jobs` adds what is report-specific (owner, source and parameters,
progress, output). Users, and so everything they own, belong to one instance (`instance` = the runtime
instance id). Uploads are the rules source's inputs; its jobs name them in their parameters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_runtime.models import utcnow


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "report_users"
    __table_args__ = (UniqueConstraint("instance", "email", name="uq_report_users_email"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    phone_number: Mapped[str | None] = mapped_column(String(40), default=None)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LoginSession(Base):
    """One login: its tokens carry `sid`; logout revokes the row and with it both tokens. The refresh
    token rotates: only the latest `refresh_jti` is accepted, and presenting an older one revokes the
    session (a stolen refresh token used twice)."""

    __tablename__ = "report_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("report_users.id", ondelete="CASCADE"), index=True)
    refresh_jti: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class LoginFailure(Base):
    __tablename__ = "report_login_failures"
    __table_args__ = (Index("ix_report_login_failures_email", "instance", "email", "at"),
                      Index("ix_report_login_failures_address", "instance", "address", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Upload(Base):
    """A stored file. Uploading the same name again adds a version; nothing is overwritten."""

    __tablename__ = "report_uploads"
    __table_args__ = (UniqueConstraint("user_id", "kind", "name", "version", name="uq_report_uploads_version"),
                      Index("ix_report_uploads_latest", "user_id", "kind", "created_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("report_users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # rules | input | reference
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(500))  # relative to the instance's storage folder
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    fmt: Mapped[str] = mapped_column(String(10))  # csv | json | yaml
    columns: Mapped[list | None] = mapped_column(JSON, default=None)  # a CSV's header
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReportJob(Base):
    __tablename__ = "report_jobs"
    __table_args__ = (Index("ix_report_jobs_user", "user_id", "created_at"),)

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the task's key: the public task_id
    user_id: Mapped[str] = mapped_column(ForeignKey("report_users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))  # the report source's name (its entry point)
    params: Mapped[dict] = mapped_column(JSON)  # what was asked for, as the source's params model dumps it
    fmt: Mapped[str] = mapped_column(String(10), default="csv")  # the report file's format (its extension)
    schedule_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    output_path: Mapped[str | None] = mapped_column(String(500), default=None)
    output_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class Schedule(Base):
    """A cron schedule. `next_run_at` is the next tick (UTC); a scheduler submits the tick's report with
    a key derived from the tick, so several scheduler processes submit it exactly once."""

    __tablename__ = "report_schedules"
    __table_args__ = (Index("ix_report_schedules_due", "instance", "paused", "next_run_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    instance: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str] = mapped_column(ForeignKey("report_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    cron: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON)  # each run's job gets these
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime] = mapped_column(DateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    last_task_id: Mapped[str | None] = mapped_column(String(64), default=None)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    missed_ticks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text, default=None)
