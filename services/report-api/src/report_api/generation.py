"""The report worker's use case: run one queued report through the rules engine."""

from __future__ import annotations

import logging
import threading
import time

from hub_runtime.errors import PermanentError, TaskCancelled, TaskInterrupted, TransientError
from hub_runtime.worker import Job

from .engine import GenerationCancelled, InputError, RulesError, generate
from .reports import Reports, load_rules
from .storage import Storage

log = logging.getLogger("report_api.worker")
PROGRESS_EVERY_SECONDS = 1.0


def make_handler(reports: Reports, storage: Storage):
    def handle(job: Job) -> dict:
        return generate_report(reports, storage, job)

    return handle


def generate_report(reports: Reports, storage: Storage, job: Job) -> dict:
    """Raises PermanentError for files or rules that cannot make a report (retrying will not help)."""
    task_id = job.task.key
    report = reports.job(task_id)
    if report is None:
        raise PermanentError("report_unknown", f"no report job {task_id!r}")
    user = report.user_id
    inputs = [storage.get(user, report.input_id), storage.get(user, report.rules_id)]
    reference = storage.get(user, report.reference_id) if report.reference_id else None
    if None in inputs or (report.reference_id and reference is None):
        raise PermanentError("input_missing", "an input, reference or rules file of this report no longer exists")
    input_upload, rules_upload = inputs
    try:
        rules = load_rules(storage, rules_upload)
    except RulesError as exc:
        raise PermanentError("invalid_rules", str(exc)[:1000]) from None
    reports.started(task_id)
    last = [time.monotonic()]
    cancel, stopping = threading.Event(), threading.Event()

    def progress(fraction: float, rows_done: int) -> None:
        """Called by the engine about once a second (first at 0 %): records the progress and asks whether
        the worker is stopping or the report was cancelled meanwhile (`/clear_queue`); either stops the
        engine at its next batch."""
        if job.stop_requested():
            stopping.set()
            cancel.set()
        elif job.cancel_requested():
            cancel.set()
        if time.monotonic() - last[0] >= PROGRESS_EVERY_SECONDS:
            last[0] = time.monotonic()
            reports.progressed(task_id, fraction, rows_done)

    output = storage.output_path(task_id, report.fmt)
    try:
        summary = generate(rules, storage.path_of(input_upload), storage.path_of(reference) if reference else None,
                           output, fmt=report.fmt, progress=progress, cancel=cancel)
    except GenerationCancelled:
        if stopping.is_set():  # not the report's fault: it starts over on the next worker
            raise TaskInterrupted from None
        reports.failed(task_id)
        raise TaskCancelled from None
    except InputError as exc:
        reports.failed(task_id)
        raise PermanentError("invalid_input", str(exc)[:1000]) from None
    except OSError as exc:  # a full disk, a storage hiccup: worth another try
        raise TransientError("storage_error", f"{type(exc).__name__}: {exc}"[:500]) from None
    reports.finished(task_id, str(output.relative_to(storage.root)), summary.output_bytes, summary.rows)
    log.info("report generated", extra={"rows": summary.rows, "error_rows": summary.error_rows,
                                        "seconds": round(summary.seconds, 3)})
    return {"rows": summary.rows, "error_rows": summary.error_rows, "errors_by_column": summary.errors_by_column,
            "columns": summary.columns, "output_bytes": summary.output_bytes, "seconds": round(summary.seconds, 3)}
