"""`report-worker NAME`: run one report instance's queued reports, and fire its due schedules."""

from __future__ import annotations

import argparse
import logging

from hub_runtime.config import load_settings
from hub_runtime.jsonlog import setup_logging
from hub_runtime.worker import Worker

from .generation import make_handler
from .schedules import SchedulerThread
from .service import ReportService
from .settings import ReportSettings

log = logging.getLogger("report_api.worker")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="report-worker", description=__doc__)
    parser.add_argument("name", help="the report instance whose queue to consume")
    args = parser.parse_args(argv)
    settings = load_settings(ReportSettings)
    setup_logging(settings.log_level, settings.log_format, service="report-worker", instance=args.name)
    service = ReportService(settings, args.name, role="worker")
    runtime = service.runtime
    if left := service.storage.remove_leftovers(partial_reports=True):  # no report is being written yet
        log.info("deleted %d files left by a stopped worker or upload (partial reports, staging)", left)
    worker = Worker(runtime, make_handler(service.reports, service.storage))  # its relay publishes the outbox
    scheduler = SchedulerThread(service.schedules, settings.scheduler_poll_seconds, on_fired=worker.relay.notify,
                                retention_days=settings.report_retention_days)
    worker.install_signal_handlers()
    scheduler.start()
    try:
        worker.run()
    finally:
        scheduler.stop()


if __name__ == "__main__":
    main()
