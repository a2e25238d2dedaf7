"""Cron schedules of reports of any source, and the scheduler that fires them. A schedule keeps its
source and parameters; each run is a job of that source with those parameters.

Exactly once per tick, with any number of scheduler processes: a due schedule's report is queued under a
key made from the schedule and the tick (`s-<id>-<tick>`), so queueing it twice queues it once; then
`next_run_at` moves on with a compare-and-set, so only one process advances it. A crash in between
re-fires the same key on the next pass: still one report.

Missed ticks (the service was down): coalesced (`hub_runtime.cron.latest_due`). The first pass after
downtime queues one report for the latest missed tick and counts the others in `missed_ticks`; the schedule
then continues from the next tick in the future."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub_runtime.cron import latest_due, next_runs, parse_cron
from hub_runtime.db import transaction
from hub_runtime.errors import IdempotencyConflict
from hub_runtime.models import utcnow
from hub_runtime.periodic import PeriodicThread

from .models import Schedule
from .reports import Reports
from .sources import ReportParams, ReportRequestError
from .storage import Storage

log = logging.getLogger("report_api.scheduler")


class Schedules:
    def __init__(self, sessions: sessionmaker[Session], instance: str, reports: Reports, storage: Storage):
        self.sessions = sessions
        self.instance = instance
        self.reports = reports
        self.storage = storage

    def create(self, user_id: str, name: str, cron: str, source: str, params: ReportParams | dict) -> Schedule:
        """CronError for a wrong expression, ReportRequestError for parameters the source refuses."""
        expression = parse_cron(cron)
        params = self.reports.validated(user_id, source, params)
        now = utcnow()
        schedule = Schedule(id=uuid.uuid4().hex, instance=self.instance, user_id=user_id, name=name,
                            cron=expression, source=source, params=params.model_dump(mode="json"), paused=False,
                            next_run_at=next_runs(expression, now, 1)[0], runs=0, missed_ticks=0, created_at=now)
        with transaction(self.sessions) as session:
            session.add(schedule)
        return schedule

    def get(self, user_id: str, schedule_id: str) -> Schedule | None:
        with self.sessions() as session:
            schedule = session.get(Schedule, schedule_id)
        return schedule if schedule is not None and schedule.user_id == user_id else None

    def list(self, user_id: str) -> list[Schedule]:
        with self.sessions() as session:
            return list(session.scalars(select(Schedule).where(Schedule.user_id == user_id)
                                        .order_by(Schedule.created_at)))

    def set_paused(self, schedule: Schedule, paused: bool) -> Schedule:
        values: dict = {"paused": paused}
        if not paused:  # resuming does not fire the ticks that passed while paused
            values["next_run_at"] = next_runs(schedule.cron, utcnow(), 1)[0]
        with transaction(self.sessions) as session:
            session.execute(update(Schedule).where(Schedule.id == schedule.id).values(**values))
            return session.get(Schedule, schedule.id, populate_existing=True)

    def delete(self, schedule: Schedule) -> None:
        """The schedule goes; the reports it made stay."""
        with transaction(self.sessions) as session:
            session.execute(delete(Schedule).where(Schedule.id == schedule.id))

    # --- firing -------------------------------------------------------------------------------------------
    def fire_due(self, now: datetime | None = None) -> int:
        """Queue the report of every due schedule; returns how many were queued."""
        now = now or utcnow()
        with self.sessions() as session:
            due = list(session.scalars(select(Schedule).where(
                Schedule.instance == self.instance, Schedule.paused.is_(False), Schedule.next_run_at <= now)
                .order_by(Schedule.next_run_at).limit(100)))
        fired = 0
        for schedule in due:
            try:
                fired += self._fire(schedule, now)
            except Exception:
                log.exception("schedule %s could not fire", schedule.id)
        return fired

    def _fire(self, schedule: Schedule, now: datetime) -> int:
        tick, missed, following = latest_due(schedule.cron, schedule.next_run_at, now)
        key = f"s-{schedule.id}-{tick:%Y%m%dT%H%M%S}"
        task_id, detail = None, None
        try:
            task_id = self.reports.request(schedule.user_id, schedule.source, schedule.params, key=key,
                                           schedule_id=schedule.id)
        except ReportRequestError as exc:  # e.g. an input was deleted: skip the tick, say why
            detail = exc.message
        except IdempotencyConflict:  # queued before an upgrade changed how its parameters are stored
            task_id = key
        with transaction(self.sessions) as session:
            advanced = session.execute(
                update(Schedule).where(Schedule.id == schedule.id, Schedule.next_run_at == schedule.next_run_at)
                .values(next_run_at=following, last_run_at=tick, last_task_id=task_id or schedule.last_task_id,
                        runs=Schedule.runs + (1 if task_id else 0),
                        missed_ticks=Schedule.missed_ticks + missed, detail=detail)).rowcount
        if advanced:
            log.info("schedule fired", extra={"schedule": schedule.id, "tick": tick.isoformat(), "task_id": task_id,
                                              "missed": missed})
        return 1 if advanced and task_id else 0


class SchedulerThread(PeriodicThread):
    """Beside a report worker: fires due schedules every few seconds, and once an hour deletes report files
    older than the retention and staging files left by interrupted uploads."""

    def __init__(self, schedules: Schedules, poll_seconds: float, on_fired=None, retention_days: float = 30.0):
        super().__init__("scheduler", poll_seconds)
        self.schedules = schedules
        self.on_fired = on_fired  # e.g. wake the outbox relay
        self.retention_days = retention_days
        self._next_prune = 0.0

    def tick(self) -> None:
        if self.schedules.fire_due() and self.on_fired is not None:
            self.on_fired()
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + 3600
            if pruned := self.schedules.reports.prune_outputs(self.retention_days):
                log.info("deleted %d report files older than %s days", pruned, self.retention_days)
            if left := self.schedules.storage.remove_leftovers(partial_reports=False):
                log.info("deleted %d staging files left by interrupted uploads", left)
