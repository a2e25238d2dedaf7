"""`erp-worker WORKSHOP`: consume one workshop's queue and create its order lines in the ERP."""

from __future__ import annotations

import argparse
import logging

from hub_runtime.config import load_settings
from hub_runtime.jsonlog import setup_logging
from hub_runtime.runtime import Instance, Runtime
from hub_runtime.worker import Worker

from .handlers import create_order_line
from .registry import make_adapter
from .settings import ErpWorkerSettings

log = logging.getLogger("erp_worker")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="erp-worker", description=__doc__)
    parser.add_argument("workshop", help='the workshop whose queue to consume, e.g. "Bennys Auto"')
    args = parser.parse_args(argv)
    settings = load_settings(ErpWorkerSettings)
    setup_logging(settings.log_level, settings.log_format, service="erp-worker", workshop=args.workshop)
    adapter = make_adapter(settings)
    runtime = Runtime(settings, Instance("erp", args.workshop), role="worker")
    worker = Worker(runtime, lambda job: create_order_line(adapter, job, always_look=settings.erp_always_look_up),
                    on_idle=adapter.idle)
    worker.install_signal_handlers()
    log.info("using ERP adapter %r at %s", settings.erp_adapter, settings.erp_base_url)
    try:
        worker.run()
    finally:
        adapter.close()


if __name__ == "__main__":
    main()
