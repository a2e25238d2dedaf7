"""What a report source is: a name, the parameters a job of it takes, its routes and its job handler.

    SOURCE = ReportSource(name="echo", params=EchoParams, handler=write_echo, summary="...")

A source's module exposes such an object and names it in the `hub.report_sources` entry-point group
(see `report_api.sources`). The service validates a job's parameters with `params` at the API and again in
the worker, runs `check` before queueing a job (the API's and a schedule's), and calls `handler` in the
worker with the parameters and a `JobContext`. `routes` builds the source's blueprint from a
`SourceRoutes`; without one, the source gets the JSON routes of `report_api.web.source_routes.json_routes`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session, sessionmaker

from hub_runtime.errors import TaskCancelled, TaskInterrupted
from hub_runtime.worker import Job

if TYPE_CHECKING:
    from hub_runtime.web.openapi import APIBlueprint

    from ..settings import ReportSettings
    from ..storage import Storage
    from ..web.source_routes import SourceRoutes

PROGRESS_EVERY_SECONDS = 1.0


class ReportParams(BaseModel):
    """The parameters of one job of a source (what the user asked for). Stored with the job and its
    schedule as JSON, so they must survive `model_dump(mode="json")` and back."""

    model_config = ConfigDict(extra="forbid")

    def output_format(self) -> str:
        """The report file's format (its extension): csv unless a source says otherwise."""
        return "csv"

    def uploads(self) -> dict[str, str | None]:
        """The uploads (kind -> id) this job reads; none unless the source takes uploads."""
        return {}


class ReportRequestError(Exception):
    """A job cannot be queued as asked (rules that do not fit their files, an input that was deleted...).
    The API answers it with 400 and `code`."""

    def __init__(self, message: str, problems: list[dict] | None = None, code: str = "report_refused"):
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.code = code


@dataclass(frozen=True)
class SourceEnv:
    """What of its instance a source's code may use."""

    settings: ReportSettings
    sessions: sessionmaker[Session]
    storage: Storage


@dataclass(frozen=True)
class Produced:
    """What a handler made: the file (written at `JobContext.output`), its row count, and a summary that
    becomes the task's result (shown with the report's status)."""

    rows: int = 0
    summary: dict = field(default_factory=dict)


@dataclass
class JobContext:
    """What a handler gets besides its parameters. A long handler calls `progress` now and then (it is
    recorded at most once a second) and stops when `cancel` is set, calling `stopped()`."""

    env: SourceEnv
    task_id: str
    user_id: str
    output: Path  # where the report file goes (its extension is the params' output_format)
    job: Job
    record_progress: Callable[[float, int], None]
    cancel: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _last: float = field(default_factory=time.monotonic)

    def progress(self, fraction: float, rows_done: int = 0) -> None:
        """Record progress (at most once a second) and ask whether the worker is stopping or the report
        was cancelled meanwhile (`/clear_queue`); either sets `cancel`."""
        if self.job.stop_requested():
            self._stopping.set()
            self.cancel.set()
        elif self.job.cancel_requested():
            self.cancel.set()
        if time.monotonic() - self._last >= PROGRESS_EVERY_SECONDS:
            self._last = time.monotonic()
            self.record_progress(fraction, rows_done)

    def stopped(self) -> NoReturn:
        """Raise what the worker expects of a handler that stopped because `cancel` was set: the report
        starts over on the next worker if this one is stopping, else it stays cancelled."""
        if self._stopping.is_set():
            raise TaskInterrupted
        raise TaskCancelled


@dataclass(frozen=True)
class ReportSource:
    name: str
    params: type[ReportParams]
    handler: Callable[[ReportParams, JobContext], Produced]
    summary: str = ""
    routes: Callable[[SourceRoutes], APIBlueprint] | None = None  # None: the JSON routes for any source
    check: Callable[[str, ReportParams, SourceEnv], None] | None = None  # (user_id, params, env); raises
    # ReportRequestError when a job cannot be queued
    uses_uploads: bool = False  # its jobs read files users uploaded (the upload routes are its own)
    formats: tuple[str, ...] = ()  # the formats a finished report can be downloaded in besides its own
    render: Callable[[Path, str, dict, Path, str], None] | None = None  # (report file, format, the job's
    # summary, target, task_id): write the report in another of `formats` to target

    def parse(self, params: dict) -> ReportParams:
        """The stored or requested parameters as this source's model (pydantic's ValidationError if not)."""
        return self.params.model_validate(params)
