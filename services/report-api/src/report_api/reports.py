"""Report jobs: validating a request by its source, queueing it as a task, and reading it back.
A job's public `task_id` is its task's key; its lifecycle is the task's status, which a user reads with
`finished` for the runtime's `created` (the orders' word for a line made in the ERP)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from hub_runtime.db import transaction
from hub_runtime.models import Task, TaskStatus, utcnow
from hub_runtime.tasks import TaskStore, TaskView, iso

from .models import ReportJob
from .sources import ReportParams, ReportRequestError, ReportSource, SourceEnv

REPORT_KIND = "report"
FINISHED = "finished"  # what a user reads for a report whose task is `created`


def user_state(status: str) -> str:
    """A task status as report-api answers it."""
    return FINISHED if status == TaskStatus.CREATED else status


class Reports:
    def __init__(self, env: SourceEnv, tasks: TaskStore, sources: dict[str, ReportSource]):
        self.env = env
        self.sessions = env.sessions
        self.storage = env.storage
        self.tasks = tasks
        self.sources = sources

    def source(self, name: str) -> ReportSource:
        if name not in self.sources:
            raise ReportRequestError(f"this instance does not serve the report source {name!r} "
                                     f"(it serves {', '.join(self.sources)})")
        return self.sources[name]

    def validated(self, user_id: str, source: str, params: ReportParams | dict) -> ReportParams:
        """The parameters as the source's model, checked by the source (`ReportRequestError` otherwise)."""
        served = self.source(source)
        if not isinstance(params, served.params):
            try:
                params = served.parse(params if isinstance(params, dict) else params.model_dump(mode="json"))
            except ValidationError as exc:
                raise ReportRequestError(f"invalid {source} parameters: {exc}") from None
        if served.check is not None:
            served.check(user_id, params, self.env)
        return params

    def request(self, user_id: str, source: str, params: ReportParams | dict, *, key: str | None = None,
                schedule_id: str | None = None) -> str:
        """Queue a report of `source`; returns its task_id. With `key` (a schedule's tick) asking twice
        queues once."""
        params = self.validated(user_id, source, params)
        stored = params.model_dump(mode="json")
        task_id = key or uuid.uuid4().hex
        job = ReportJob(task_id=task_id, user_id=user_id, source=source, params=stored,
                        fmt=params.output_format(), schedule_id=schedule_id, created_at=utcnow())
        try:
            with transaction(self.sessions) as session:
                session.add(job)
        except IntegrityError:
            if key is None:
                raise
        payload = {"user_id": user_id, "source": source, "params": stored, "schedule_id": schedule_id}
        try:
            self.tasks.submit(REPORT_KIND, task_id, payload)
        except Exception:
            if key is None:  # nothing half-written: no job without its task
                with transaction(self.sessions) as session:
                    session.execute(delete(ReportJob).where(ReportJob.task_id == task_id))
            raise
        return task_id

    # --- reading ------------------------------------------------------------------------------------
    def job(self, task_id: str, user_id: str | None = None) -> ReportJob | None:
        with self.sessions() as session:
            job = session.get(ReportJob, task_id)
        return job if job is not None and (user_id is None or job.user_id == user_id) else None

    def latest_finished(self, user_id: str) -> ReportJob | None:
        """The user's most recently finished report (its task `created`), ready to download."""
        with self.sessions() as session:
            return session.scalar(
                select(ReportJob).join(Task, (Task.instance == self.tasks.instance) & (Task.key == ReportJob.task_id))
                .where(ReportJob.user_id == user_id, ReportJob.output_path.is_not(None),
                       Task.status == TaskStatus.CREATED)
                .order_by(ReportJob.finished_at.desc()).limit(1))

    def list(self, user_id: str, limit: int = 100, schedule_id: str | None = None) -> list[ReportJob]:
        query = select(ReportJob).where(ReportJob.user_id == user_id)
        if schedule_id:
            query = query.where(ReportJob.schedule_id == schedule_id)
        with self.sessions() as session:
            return list(session.scalars(query.order_by(ReportJob.created_at.desc()).limit(limit)))

    def view(self, job: ReportJob) -> dict:
        """One report with its status history."""
        return self.report_view(job, self.tasks.find(job.task_id, with_history=True))

    def views(self, jobs: list[ReportJob]) -> list[dict]:
        """Several reports without their histories, their tasks read in one query."""
        with self.sessions() as session:
            tasks = {task.key: TaskView.of(task) for task in session.scalars(select(Task).where(
                Task.instance == self.tasks.instance, Task.key.in_([job.task_id for job in jobs])))}
        return [self.report_view(job, tasks.get(job.task_id)) for job in jobs]

    # --- the worker's side --------------------------------------------------------------------------------
    def started(self, task_id: str) -> None:
        self._update(task_id, started_at=utcnow(), progress=0.0, rows_done=0)

    def progressed(self, task_id: str, fraction: float, rows_done: int) -> None:
        self._update(task_id, progress=round(min(max(fraction, 0.0), 1.0), 4), rows_done=rows_done)

    def finished(self, task_id: str, output_path: str, output_bytes: int, rows: int) -> None:
        self._update(task_id, progress=1.0, rows_done=rows, output_path=output_path, output_bytes=output_bytes,
                     finished_at=utcnow())

    def prune_outputs(self, older_than_days: float) -> int:
        """Delete report files finished longer ago than this; their jobs stay, without a download."""
        cutoff = utcnow() - timedelta(days=older_than_days)
        with self.sessions() as session:
            old = list(session.execute(select(ReportJob.task_id, ReportJob.output_path).where(
                ReportJob.output_path.is_not(None), ReportJob.finished_at < cutoff).limit(1000)))
        for task_id, output_path in old:
            (self.storage.root / output_path).unlink(missing_ok=True)
            self._update(task_id, output_path=None)
        return len(old)

    def failed(self, task_id: str) -> None:
        self._update(task_id, finished_at=utcnow())

    def stored_params(self, source: str, params: dict) -> ReportParams | None:
        """A job's or schedule's parameters as its source's model; None if this instance does not serve the
        source (or the source no longer takes them)."""
        served = self.sources.get(source)
        try:
            return served.parse(params) if served else None
        except ValidationError:
            return None

    def report_view(self, job: ReportJob, task: TaskView | None) -> dict:
        status = task.status if task else "unknown"
        result = (task.result or {}) if task else {}
        ready = status == TaskStatus.CREATED and job.output_path is not None
        return {
            "task_id": job.task_id,
            "source": job.source,
            "state": user_state(status),
            "progress": {"fraction": job.progress, "rows_done": job.rows_done},
            "rows": result.get("rows"),
            "error_rows": result.get("error_rows"),
            "errors_by_column": result.get("errors_by_column"),
            "reason_code": task.reason_code if task else None,
            "reason_text": task.reason_text if task else None,
            "format": job.fmt,
            "params": job.params,
            "schedule_id": job.schedule_id,
            "inputs": params.uploads() if (params := self.stored_params(job.source, job.params)) else {},
            "created_at": iso(job.created_at),
            "started_at": iso(job.started_at),
            "finished_at": iso(job.finished_at),
            "output_bytes": job.output_bytes,
            "download_url": f"/api/reports/{job.task_id}/download" if ready else None,
            "summary": result or None,
            "history": [{"status": user_state(s), "at": iso(at), "detail": d}
                        for s, at, d in (task.history if task else ())],
        }

    def _update(self, task_id: str, **values) -> None:
        with transaction(self.sessions) as session:
            session.execute(update(ReportJob).where(ReportJob.task_id == task_id).values(**values))


