"""Activities: every long piece of work (a fetch, an inventory report, a scheduled sync) is an activity
queued as a runtime task whose key is the activity's id. The task's status is the activity's lifecycle,
named as the seed's activity log names it (`STATUS`); the activity row keeps its type, marketplace,
parameters, progress, counts and errors, which the worker updates as it goes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from hub_runtime.db import transaction
from hub_runtime.models import Task, TaskStatus, utcnow
from hub_runtime.tasks import TaskStore, iso

from .models import Activity

ACTIVITY_KIND = "amazon"  # the runtime task kind of every activity
STATUS = {TaskStatus.PLACED: "pending", TaskStatus.PROCESSING: "in_progress", TaskStatus.CREATED: "completed",
          TaskStatus.ERROR: "failed", TaskStatus.CANCELLED: "cancelled"}
TASK_STATUS = {name: status for status, name in STATUS.items()}
TYPES = ("orders", "items", "inventory", "sync")


@dataclass(frozen=True)
class ActivityFilter:
    marketplace_id: str | None = None
    status: str | None = None  # one of STATUS's values
    activity_type: str | None = None
    search: str | None = None  # in detail, error_message, marketplace_id
    date_from: datetime | None = None
    date_to: datetime | None = None  # inclusive: the whole day when a date was given


class Activities:
    def __init__(self, sessions, tasks: TaskStore):
        self.sessions = sessions
        self.tasks = tasks
        self.instance = tasks.instance

    # --- queueing ---------------------------------------------------------------------------------------
    def queue(self, activity_type: str, params: dict, *, marketplace_id: str | None = None, detail: str = "",
              key: str | None = None, schedule_id: str | None = None) -> str:
        """Record and queue an activity; its id. With `key` (a schedule's tick) queueing twice queues once."""
        activity_id = key or str(uuid.uuid4())
        activity = Activity(id=activity_id, instance=self.instance, activity_type=activity_type,
                            marketplace_id=marketplace_id, detail=detail[:500], params=params,
                            schedule_id=schedule_id, progress=0.0, counts={}, errors=[], created_at=utcnow())
        try:
            with transaction(self.sessions) as session:
                session.add(activity)
        except IntegrityError:
            if key is None:
                raise
        try:
            self.tasks.submit(ACTIVITY_KIND, activity_id, {"type": activity_type, "params": params})
        except Exception:
            if key is None:  # nothing half-written: no activity without its task
                with transaction(self.sessions) as session:
                    session.execute(delete(Activity).where(Activity.id == activity_id))
            raise
        return activity_id

    # --- the worker's side --------------------------------------------------------------------------------
    def get(self, activity_id: str) -> Activity | None:
        with self.sessions() as session:
            activity = session.get(Activity, activity_id)
        return activity if activity is not None and activity.instance == self.instance else None

    def started(self, activity_id: str) -> None:
        self._update(activity_id, started_at=utcnow(), finished_at=None, error_message=None)

    def progressed(self, activity_id: str, progress: float, counts: dict) -> None:
        self._update(activity_id, progress=round(min(max(progress, 0.0), 1.0), 4), counts=counts)

    def finished(self, activity_id: str, counts: dict, errors: list[dict]) -> None:
        self._update(activity_id, progress=1.0, counts=counts, errors=errors[:1000], finished_at=utcnow())

    def failed(self, activity_id: str, message: str, counts: dict | None = None, errors: list[dict] = ()) -> None:
        values = {"error_message": message[:2000], "finished_at": utcnow(), "errors": list(errors)[:1000]}
        if counts is not None:
            values["counts"] = counts
        self._update(activity_id, **values)

    def _update(self, activity_id: str, **values) -> None:
        with transaction(self.sessions) as session:
            session.execute(update(Activity).where(Activity.id == activity_id).values(**values))

    # --- reading ------------------------------------------------------------------------------------------
    def view(self, activity_id: str) -> dict | None:
        with self.sessions() as session:
            row = session.execute(self._joined().where(Activity.id == activity_id)).first()
        return activity_view(*row, detailed=True) if row else None

    def page(self, filters: ActivityFilter, page: int, page_size: int) -> tuple[list[dict], int]:
        """One page of activities, newest first, and how many match in all."""
        query = self._filtered(self._joined(), filters)
        with self.sessions() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.execute(query.order_by(Activity.created_at.desc(), Activity.id)
                                   .offset((page - 1) * page_size).limit(page_size)).all()
        return [activity_view(*row) for row in rows], total

    def completed(self, activity_type: str, limit: int = 100) -> list[dict]:
        """The latest completed activities of a type, newest first, with their parameters."""
        with self.sessions() as session:
            rows = session.execute(self._joined().where(Activity.activity_type == activity_type,
                                                        Task.status == TaskStatus.CREATED)
                                   .order_by(Activity.created_at.desc()).limit(limit)).all()
        return [activity_view(*row, detailed=True) for row in rows]

    def latest(self, activity_type: str) -> dict | None:
        with self.sessions() as session:
            row = session.execute(self._joined().where(Activity.activity_type == activity_type)
                                  .order_by(Activity.created_at.desc()).limit(1)).first()
        return activity_view(*row) if row else None

    def stats(self, days: int, marketplace_id: str | None = None) -> dict:
        since = utcnow() - timedelta(days=days)
        filters = ActivityFilter(marketplace_id=marketplace_id, date_from=since)
        query = self._filtered(self._joined(), filters).subquery()
        with self.sessions() as session:
            by = session.execute(select(query.c.activity_type, query.c.status, func.count())
                                 .group_by(query.c.activity_type, query.c.status)).all()
            recent = session.execute(self._filtered(self._joined(), filters)
                                     .order_by(Activity.created_at.desc()).limit(10)).all()
        by_status = {name: 0 for name in STATUS.values()}
        by_type: dict[str, int] = {}
        for activity_type, status, count in by:
            by_status[STATUS.get(status, status)] += count
            by_type[activity_type] = by_type.get(activity_type, 0) + count
        total = sum(by_status.values())
        finished = by_status["completed"] + by_status["failed"]
        return {"period_days": days, "since": iso(since), "marketplace_id": marketplace_id, "total": total,
                "by_status": by_status, "by_type": by_type,
                "success_rate": round(100.0 * by_status["completed"] / finished, 1) if finished else None,
                "recent": [activity_view(*row) for row in recent]}

    def _joined(self):
        return (select(Activity, Task.status, Task.reason_code, Task.reason_text)
                .join(Task, and_(Task.instance == Activity.instance, Task.key == Activity.id), isouter=True)
                .where(Activity.instance == self.instance))

    @staticmethod
    def _filtered(query, f: ActivityFilter):
        if f.marketplace_id:
            query = query.where(Activity.marketplace_id == f.marketplace_id)
        if f.status:
            query = query.where(Task.status == TASK_STATUS[f.status])
        if f.activity_type:
            query = query.where(Activity.activity_type == f.activity_type)
        if f.search:
            pattern = f"%{f.search.lower()}%"
            query = query.where(or_(func.lower(Activity.detail).like(pattern),
                                    func.lower(cast(Activity.error_message, String)).like(pattern),
                                    func.lower(Activity.marketplace_id).like(pattern)))
        if f.date_from:
            query = query.where(Activity.created_at >= f.date_from)
        if f.date_to:
            query = query.where(Activity.created_at <= f.date_to)
        return query


def activity_view(activity: Activity, task_status: str | None, reason_code: str | None = None,
                  reason_text: str | None = None, detailed: bool = False) -> dict:
    counts = activity.counts or {}
    ended = activity.finished_at or (None if activity.started_at is None else utcnow())
    duration = (ended - activity.started_at).total_seconds() if activity.started_at and ended else None
    view = {
        "id": activity.id,
        "activity_type": activity.activity_type,
        "status": STATUS.get(task_status, "unknown"),
        "marketplace_id": activity.marketplace_id,
        "detail": activity.detail,
        "progress": activity.progress,
        "counts": counts,
        "total_records": sum(v for k, v in counts.items() if k.endswith("_saved") and isinstance(v, int)),
        "error_message": activity.error_message or reason_text,
        "reason_code": reason_code,
        "schedule_id": activity.schedule_id,
        "created_at": iso(activity.created_at),
        "started_at": iso(activity.started_at),
        "finished_at": iso(activity.finished_at),
        "duration_seconds": round(duration, 3) if duration is not None else None,
        "duration_formatted": _formatted(duration),
    }
    if detailed:
        view["params"] = activity.params
        view["errors"] = activity.errors or []
    return view


def _formatted(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s" if minutes else f"{secs}s"
