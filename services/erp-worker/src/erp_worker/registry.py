"""Which adapter serves which ERP system. The integration's configuration names one of these keys."""

from __future__ import annotations

from collections.abc import Callable

from .adapters.base import ErpAdapter
from .settings import ErpWorkerSettings


def _demo_http(settings: ErpWorkerSettings) -> ErpAdapter:
    from .adapters.demo_http import DemoHttpAdapter

    return DemoHttpAdapter(settings.erp_base_url, timeout=settings.erp_timeout_seconds)


ADAPTERS: dict[str, Callable[[ErpWorkerSettings], ErpAdapter]] = {
    "http": _demo_http,
}


def make_adapter(settings: ErpWorkerSettings) -> ErpAdapter:
    try:
        return ADAPTERS[settings.erp_adapter](settings)
    except KeyError:
        raise SystemExit(f"HUB_ERP_ADAPTER={settings.erp_adapter!r} is unknown; "
                         f"choose one of {', '.join(sorted(ADAPTERS))}") from None
