"""amazon-sync's own tables, on one declarative `Base`: the synced data (orders, order items, inventory
rows and sync checkpoints, in `amazon_sync.store.tables`) and the service's bookkeeping here: activities,
sync schedules and the connection's state. Every row belongs to one instance (`instance` = the runtime
instance id).

An activity is one job (a fetch, an inventory report, a scheduled sync): its lifecycle is its runtime
task's status (`tasks` table, key = the activity's id), read as pending, in_progress, completed, failed or
cancelled; the row adds what is Amazon-specific: type, marketplace, parameters, progress, counts, errors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_runtime.models import utcnow


class Base(DeclarativeBase):
    pass


class Activity(Base):
    __tablename__ = "amazon_activities"
    __table_args__ = (Index("ix_amazon_activities_created", "instance", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # a UUID, or a schedule tick; its task's key
    instance: Mapped[str] = mapped_column(String(200))
    activity_type: Mapped[str] = mapped_column(String(20))  # orders | items | inventory | sync
    marketplace_id: Mapped[str | None] = mapped_column(String(20), default=None)
    detail: Mapped[str] = mapped_column(String(500), default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    schedule_id: Mapped[str | None] = mapped_column(String(32), default=None)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # orders_fetched, items_saved, api_calls, ...
    errors: Mapped[list] = mapped_column(JSON, default=list)  # [{"order_id"?, "code", "message"}]
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class SyncSchedule(Base):
    """A cron schedule of incremental syncs (every marketplace it names, by LastUpdatedAfter from each one's
    checkpoint). Fired exactly once per tick as report-api's schedules are: the tick's activity id is
    derived from the schedule and the tick."""

    __tablename__ = "amazon_sync_schedules"
    __table_args__ = (Index("ix_amazon_sync_schedules_due", "instance", "paused", "next_run_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    instance: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    cron: Mapped[str] = mapped_column(String(120))
    marketplace_ids: Mapped[list] = mapped_column(JSON)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime] = mapped_column(DateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    last_activity_id: Mapped[str | None] = mapped_column(String(64), default=None)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    missed_ticks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Connection(Base):
    """What the instance last learned of the seller's authorization (never a token or a secret)."""

    __tablename__ = "amazon_connection"

    instance: Mapped[str] = mapped_column(String(200), primary_key=True)
    lwa_app_id: Mapped[str | None] = mapped_column(String(200), default=None)
    connected_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
