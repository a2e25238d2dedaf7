"""`erp-worker WORKSHOP`: consume one workshop's queue and create its order lines in the ERP."""

from __future__ import annotations

import logging

from hub_runtime.entrypoints import WorkerPlan, run_worker
from hub_runtime.runtime import Instance, Runtime

from .handlers import create_order_line
from .kind import KIND
from .registry import make_adapter
from .settings import ErpWorkerSettings

log = logging.getLogger("erp_worker")


def plan(settings: ErpWorkerSettings, workshop: str) -> WorkerPlan:
    erp = KIND.settings_from_environment()
    stored_login = KIND.credentials_from(settings.credentials.get_secret_value() if settings.credentials else None)
    adapter = make_adapter(erp, settings)
    log.info("using ERP adapter %r at %s (stored login: %s)", erp.adapter, erp.base_url,
             "yes" if stored_login else "no")
    return WorkerPlan(
        runtime=Runtime(settings, Instance(KIND.name, workshop), role="worker"),
        handler=lambda job: create_order_line(adapter, job, always_look=erp.always_look_up, stored_login=stored_login),
        on_idle=adapter.idle,
        on_stop=[adapter.close],
    )


def main(argv=None) -> None:
    run_worker("erp-worker", __doc__, 'the workshop whose queue to consume, e.g. "Bennys Auto"', ErpWorkerSettings,
               plan, argv)


if __name__ == "__main__":
    main()
