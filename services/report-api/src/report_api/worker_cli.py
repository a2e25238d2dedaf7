"""`report-worker NAME`: run one report instance's queued reports, and fire its due schedules."""

from __future__ import annotations

import logging

from hub_runtime.entrypoints import WorkerPlan, run_worker

from .generation import make_handler
from .schedules import SchedulerThread
from .service import ReportService
from .settings import ReportSettings

log = logging.getLogger("report_api.worker")


def plan(settings: ReportSettings, name: str) -> WorkerPlan:
    service = ReportService(settings, name, role="worker")
    if left := service.storage.remove_leftovers(partial_reports=True):  # no report is being written yet
        log.info("deleted %d files left by a stopped worker or upload (partial reports, staging)", left)
    scheduler = None

    def start_scheduler(worker) -> None:
        nonlocal scheduler  # its fired reports wake the worker's outbox relay
        scheduler = SchedulerThread(service.schedules, settings.scheduler_poll_seconds, on_fired=worker.relay.notify,
                                    retention_days=settings.report_retention_days)
        scheduler.start()

    return WorkerPlan(runtime=service.runtime, handler=make_handler(service.reports, service.storage),
                      on_start=start_scheduler, on_stop=[lambda: scheduler and scheduler.stop()])


def main(argv=None) -> None:
    run_worker("report-worker", __doc__, "the report instance whose queue to consume", ReportSettings, plan, argv)


if __name__ == "__main__":
    main()
