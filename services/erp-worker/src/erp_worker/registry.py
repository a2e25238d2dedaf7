"""Which adapter serves which ERP system. The integration's configuration names one of these keys."""

from __future__ import annotations

from collections.abc import Callable

from .adapters.base import ErpAdapter
from .settings import ErpWorkerSettings


def _demo_http(settings: ErpWorkerSettings) -> ErpAdapter:
    from .adapters.demo_http import DemoHttpAdapter

    return DemoHttpAdapter(settings.erp_base_url, timeout=settings.erp_timeout_seconds)


def _selenium_demo(settings: ErpWorkerSettings) -> ErpAdapter:
    from .adapters.demo_web import DemoWebAdapter
    from .browser import BrowserSession

    browser = BrowserSession(max_orders=settings.browser_max_orders, max_age=settings.browser_max_minutes * 60,
                             max_rss_bytes=settings.browser_max_mb * 2**20,
                             idle_close=settings.browser_idle_close_seconds,
                             page_load_timeout=settings.erp_timeout_seconds * 3)
    return DemoWebAdapter(settings.erp_base_url, browser, timeout=settings.erp_timeout_seconds)


ADAPTERS: dict[str, Callable[[ErpWorkerSettings], ErpAdapter]] = {
    "http": _demo_http,  # the demo ERP's HTTP API
    "selenium-demo": _selenium_demo,  # the demo ERP's web pages, through headless Chromium
}


def make_adapter(settings: ErpWorkerSettings) -> ErpAdapter:
    try:
        return ADAPTERS[settings.erp_adapter](settings)
    except KeyError:
        raise SystemExit(f"HUB_ERP_ADAPTER={settings.erp_adapter!r} is unknown; "
                         f"choose one of {', '.join(sorted(ADAPTERS))}") from None
