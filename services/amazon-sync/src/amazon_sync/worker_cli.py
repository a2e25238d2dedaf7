"""`amazon-sync-worker NAME`: run one Amazon seller's queued activities, and fire its due sync schedules."""

from __future__ import annotations

from hub_runtime.config import RuntimeSettings
from hub_runtime.entrypoints import WorkerPlan, run_worker

from .jobs import make_handler
from .kind import settings_from_environment
from .service import AmazonService
from .sync_schedules import SchedulerThread


def plan(settings: RuntimeSettings, name: str) -> WorkerPlan:
    amazon = settings_from_environment()
    service = AmazonService(settings, amazon, name, role="worker")
    scheduler = None

    def start_scheduler(worker) -> None:
        nonlocal scheduler  # its queued syncs wake the worker's outbox relay
        scheduler = SchedulerThread(service.schedules, amazon.scheduler_poll_seconds, on_fired=worker.relay.notify)
        scheduler.start()

    return WorkerPlan(runtime=service.runtime, handler=make_handler(service), on_start=start_scheduler,
                      on_stop=[lambda: scheduler and scheduler.stop()])


def main(argv=None) -> None:
    run_worker("amazon-sync-worker", __doc__, "the instance whose queue to consume", RuntimeSettings, plan, argv)


if __name__ == "__main__":
    main()
