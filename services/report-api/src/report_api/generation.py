"""The report worker's use case: run one queued report through its source's handler."""

from __future__ import annotations

from pydantic import ValidationError

from hub_runtime.errors import PermanentError, TaskCancelled, TaskInterrupted, TransientError
from hub_runtime.worker import Job

from .reports import Reports
from .sources import JobContext
from .storage import Storage


def make_handler(reports: Reports, storage: Storage):
    def handle(job: Job) -> dict:
        return generate_report(reports, storage, job)

    return handle


def generate_report(reports: Reports, storage: Storage, job: Job) -> dict:
    """The job's parameters validated again by its source, the handler run with a context, the report file
    recorded. PermanentError when the job cannot make a report (retrying will not help)."""
    task_id = job.task.key
    report = reports.job(task_id)
    if report is None:
        raise PermanentError("report_unknown", f"no report job {task_id!r}")
    source = reports.sources.get(report.source)
    if source is None:
        raise PermanentError("source_unknown", f"this instance does not serve the report source {report.source!r}")
    try:
        params = source.parse(report.params)
    except ValidationError as exc:
        raise PermanentError("invalid_params", f"{report.source}: {exc}"[:1000]) from None
    reports.started(task_id)
    output = storage.output_path(task_id, params.output_format())
    ctx = JobContext(reports.env, task_id, report.user_id, output, job,
                     lambda fraction, rows_done: reports.progressed(task_id, fraction, rows_done))
    try:
        produced = source.handler(params, ctx)
    except TaskInterrupted:  # not the report's fault: it starts over on the next worker
        output.unlink(missing_ok=True)
        raise
    except TransientError:
        raise
    except (PermanentError, TaskCancelled):
        output.unlink(missing_ok=True)
        reports.failed(task_id)
        raise
    except OSError as exc:  # a full disk, a storage hiccup: worth another try
        raise TransientError("storage_error", f"{type(exc).__name__}: {exc}"[:500]) from None
    if not output.is_file():
        reports.failed(task_id)
        raise PermanentError("no_output", f"the {report.source} source made no report file")
    reports.finished(task_id, str(output.relative_to(storage.root)), output.stat().st_size, produced.rows)
    return produced.summary
