"""The step a download is at (authenticating, switching company, creating the report, waiting, downloading,
stored), recorded as it is reached: an event in the job's task history (`step: <name>`, shown in the report
status's `history`) and the job's progress fraction. `latest_step` reads it back for the status route."""

from __future__ import annotations

from hub_runtime.db import transaction
from hub_runtime.models import TaskEvent, TaskStatus

from ..base import JobContext

PREFIX = "step: "
# step -> the progress fraction recorded when it starts
STEPS = {"authenticating": 0.02, "switching_company": 0.05, "creating_report": 0.1, "waiting": 0.15,
         "downloading": 0.8, "uploading": 0.9, "stored": 1.0}
WAITING_SPAN = STEPS["downloading"] - STEPS["waiting"]


class StepRecorder:
    def __init__(self, ctx: JobContext):
        self.ctx = ctx
        self.current: str | None = None

    def reached(self, step: str, detail: str = "") -> None:
        """Record that the job is now at `step` (with a short detail, never a secret)."""
        self.current = step
        text = PREFIX + step + (f" ({detail})" if detail else "")
        with transaction(self.ctx.env.sessions) as session:
            session.add(TaskEvent(task_id=self.ctx.job.task.id, status=TaskStatus.PROCESSING, detail=text[:2000]))
        self.ctx.record_progress(STEPS[step], 0)

    def waiting(self, elapsed_fraction: float) -> None:
        """While the report is made: progress within the waiting step; stops the job when it is cancelled or
        the worker is stopping."""
        self.ctx.progress(STEPS["waiting"] + WAITING_SPAN * min(max(elapsed_fraction, 0.0), 1.0))
        if self.ctx.cancel.is_set():
            self.ctx.stopped()


def latest_step(history) -> str | None:
    """The last step recorded in a task's history (`TaskView.history`), e.g. `waiting (report 1234...)`."""
    for _status, _at, detail in reversed(history or ()):
        if detail and detail.startswith(PREFIX):
            return detail[len(PREFIX):]
    return None
