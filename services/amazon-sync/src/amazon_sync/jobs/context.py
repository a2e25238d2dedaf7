"""What a job gets while it runs: its activity, the SP-API client, where to save, and a watch on the worker
and the task (a stop or a cancel sets `stop`, which cuts the client's waits short)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from hub_runtime.errors import TaskCancelled, TaskInterrupted
from hub_runtime.worker import Job

from ..activities import Activities
from ..kind import AmazonSettings

PROGRESS_EVERY_SECONDS = 1.0
WATCH_EVERY_SECONDS = 0.5


@dataclass
class JobContext:
    activity_id: str
    params: dict
    job: Job
    activities: Activities
    settings: AmazonSettings
    client: object  # amazon_sync.spapi.SpApiClient
    orders: object  # amazon_sync.store.OrderStore
    counts: Counter = field(default_factory=Counter)
    errors: list[dict] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _last_progress: float = 0.0

    @contextmanager
    def watching(self):
        """While the job runs, a thread asks twice a second whether the worker is stopping or the task was
        cancelled, and sets `stop` if so."""
        done = threading.Event()

        def watch() -> None:
            while not done.wait(WATCH_EVERY_SECONDS):
                if self.job.stop_requested():
                    self._stopping.set()
                    self.stop.set()
                elif self.job.cancel_requested():
                    self.stop.set()
                if self.stop.is_set():
                    return

        watcher = threading.Thread(target=watch, name=f"watch-{self.activity_id[:8]}", daemon=True)
        watcher.start()
        try:
            yield self
        finally:
            done.set()
            watcher.join(2)

    def check(self) -> None:
        """Raise what the worker expects of a job that was told to stop: it starts over on the next worker
        if this one is stopping (`TaskInterrupted`), else it stays cancelled."""
        if self.stop.is_set():
            raise TaskInterrupted if self._stopping.is_set() else TaskCancelled

    def progress(self, fraction: float, force: bool = False) -> None:
        """Record progress and counts (at most once a second unless `force`)."""
        self.check()
        if force or time.monotonic() - self._last_progress >= PROGRESS_EVERY_SECONDS:
            self._last_progress = time.monotonic()
            self.activities.progressed(self.activity_id, fraction, self.snapshot())

    def error(self, code: str, message: str, **about) -> None:
        self.errors.append({**about, "code": code, "message": message[:500]})

    def snapshot(self) -> dict:
        return dict(self.counts)
