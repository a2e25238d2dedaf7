"""Cron schedules of incremental syncs, fired by the worker exactly once per tick, as report-api's
schedules are: a due schedule's sync is queued as the activity `sync-<schedule>-<tick>`, so queueing it
twice queues it once; then `next_run_at` moves on with a compare-and-set, so only one process advances
it. Missed ticks (the worker was down) are coalesced into one sync, since a sync covers everything
updated since the marketplace's checkpoint anyway."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import delete, select, update

from hub_runtime.cron import latest_due, next_runs, parse_cron
from hub_runtime.db import transaction
from hub_runtime.models import utcnow
from hub_runtime.periodic import PeriodicThread

from .activities import Activities
from .models import SyncSchedule

log = logging.getLogger("amazon_sync.scheduler")


class SyncSchedules:
    def __init__(self, sessions, instance: str, activities: Activities):
        self.sessions = sessions
        self.instance = instance
        self.activities = activities

    def create(self, name: str, cron: str, marketplace_ids: list[str]) -> SyncSchedule:
        """`CronError` for a wrong expression."""
        expression = parse_cron(cron)
        now = utcnow()
        schedule = SyncSchedule(id=uuid.uuid4().hex, instance=self.instance, name=name, cron=expression,
                                marketplace_ids=marketplace_ids, paused=False,
                                next_run_at=next_runs(expression, now, 1)[0], runs=0, missed_ticks=0,
                                created_at=now)
        with transaction(self.sessions) as session:
            session.add(schedule)
        return schedule

    def list(self) -> list[SyncSchedule]:
        with self.sessions() as session:
            return list(session.scalars(select(SyncSchedule).where(SyncSchedule.instance == self.instance)
                                        .order_by(SyncSchedule.created_at)))

    def get(self, schedule_id: str) -> SyncSchedule | None:
        with self.sessions() as session:
            schedule = session.get(SyncSchedule, schedule_id)
        return schedule if schedule is not None and schedule.instance == self.instance else None

    def delete(self, schedule_id: str) -> bool:
        """The schedule goes; the activities it queued stay."""
        with transaction(self.sessions) as session:
            return bool(session.execute(delete(SyncSchedule).where(
                SyncSchedule.id == schedule_id, SyncSchedule.instance == self.instance)).rowcount)

    def fire_due(self, now: datetime | None = None) -> int:
        """Queue the sync of every due schedule; how many were queued."""
        now = now or utcnow()
        with self.sessions() as session:
            due = list(session.scalars(select(SyncSchedule).where(
                SyncSchedule.instance == self.instance, SyncSchedule.paused.is_(False),
                SyncSchedule.next_run_at <= now).order_by(SyncSchedule.next_run_at).limit(100)))
        fired = 0
        for schedule in due:
            try:
                fired += self._fire(schedule, now)
            except Exception:
                log.exception("sync schedule %s could not fire", schedule.id)
        return fired

    def _fire(self, schedule: SyncSchedule, now: datetime) -> int:
        tick, missed, following = latest_due(schedule.cron, schedule.next_run_at, now)
        key = f"sync-{schedule.id}-{tick:%Y%m%dT%H%M%S}"
        self.activities.queue("sync", {"marketplace_ids": schedule.marketplace_ids}, key=key,
                              schedule_id=schedule.id, detail=f"scheduled sync {schedule.name!r} of "
                              f"{', '.join(schedule.marketplace_ids)}")
        with transaction(self.sessions) as session:
            advanced = session.execute(
                update(SyncSchedule).where(SyncSchedule.id == schedule.id,
                                           SyncSchedule.next_run_at == schedule.next_run_at)
                .values(next_run_at=following, last_run_at=tick, last_activity_id=key,
                        runs=SyncSchedule.runs + 1, missed_ticks=SyncSchedule.missed_ticks + missed)).rowcount
        if advanced:
            log.info("sync schedule fired", extra={"schedule": schedule.id, "tick": tick.isoformat(),
                                                   "activity": key, "missed": missed})
        return 1 if advanced else 0


class SchedulerThread(PeriodicThread):
    """Beside the worker: fires due sync schedules every few seconds."""

    def __init__(self, schedules: SyncSchedules, poll_seconds: float, on_fired=None):
        super().__init__("sync-scheduler", poll_seconds)
        self.schedules = schedules
        self.on_fired = on_fired  # e.g. wake the outbox relay

    def tick(self) -> None:
        if self.schedules.fire_due() and self.on_fired is not None:
            self.on_fired()
