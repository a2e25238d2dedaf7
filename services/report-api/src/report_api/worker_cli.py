"""`report-worker NAME`: run one report instance's queued reports, and fire its due schedules."""

from __future__ import annotations

import argparse
import logging

from hub_runtime.config import load_settings
from hub_runtime.jsonlog import setup_logging
from hub_runtime.outbox import OutboxRelay
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
    # scheduled reports are queued here: this process publishes them too (the API's relay may be down)
    relay = OutboxRelay(runtime.sessions, runtime.broker, runtime.instance.id,
                        poll_seconds=settings.outbox_poll_seconds)
    scheduler = SchedulerThread(service.schedules, settings.scheduler_poll_seconds, on_fired=relay.notify,
                                retention_days=settings.report_retention_days)
    worker = Worker(runtime, make_handler(service.reports, service.storage))
    worker.install_signal_handlers()
    relay.start()
    scheduler.start()
    try:
        worker.run()
    finally:
        scheduler.stop()
        relay.stop()


if __name__ == "__main__":
    main()
