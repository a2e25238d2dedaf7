"""The manager's tables: integrations and their history (changes and state transitions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_runtime.models import utcnow


class Base(DeclarativeBase):
    pass


class Integration(Base):
    __tablename__ = "integrations"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    credentials: Mapped[str | None] = mapped_column(Text, default=None)  # encrypted
    api_token: Mapped[str] = mapped_column(Text)  # encrypted; shown once, on creation or rotation
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    api_port: Mapped[int] = mapped_column(Integer, unique=True)
    probe_port: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IntegrationEvent(Base):
    __tablename__ = "integration_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
