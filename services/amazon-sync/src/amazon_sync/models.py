"""amazon-sync's own tables, on one declarative `Base`: the synced data (orders, order items, inventory
rows and sync checkpoints, in `amazon_sync.store`) and the service's bookkeeping (activities, sync
schedules, connection state, here). Every row belongs to one instance (`instance` = the runtime instance id)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
