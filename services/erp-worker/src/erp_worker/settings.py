"""erp-worker's process settings: the runtime's plus the browser's limits. What names the ERP (adapter,
base URL, timeouts) is the `erp` kind's settings (`erp_worker.kind.ErpSettings`)."""

from __future__ import annotations

from pydantic import Field

from hub_runtime.config import RuntimeSettings


class ErpWorkerSettings(RuntimeSettings):
    browser_max_orders: int = Field(500, ge=1, description="restart the browser after this many orders")
    browser_max_minutes: float = Field(60, gt=0, description="restart the browser after this long")
    browser_max_mb: int = Field(700, ge=100, description="restart the browser when its memory (PSS) passes this")
    browser_idle_close_seconds: float = Field(300, gt=0, description="close the browser after this long idle")
