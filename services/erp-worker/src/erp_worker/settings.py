"""erp-worker's settings: the runtime's plus which ERP adapter to use and where the ERP is."""

from __future__ import annotations

from pydantic import Field

from hub_runtime.config import RuntimeSettings


class ErpWorkerSettings(RuntimeSettings):
    erp_adapter: str = Field("http", description="adapter key in erp_worker.registry (http, selenium-demo)")
    erp_base_url: str = Field("http://127.0.0.1:8200", pattern=r"^https?://", description="the ERP's base URL")
    erp_timeout_seconds: float = Field(10.0, gt=0, description="per ERP request or page wait")
    erp_always_look_up: bool = Field(False, description="look for an existing line with the order's uniqueid on "
                                     "every attempt, also the first (e.g. while another system may still "
                                     "write lines with these uniqueids); by default only retries look")
    browser_max_orders: int = Field(500, ge=1, description="restart the browser after this many orders")
    browser_max_minutes: float = Field(60, gt=0, description="restart the browser after this long")
    browser_max_mb: int = Field(700, ge=100, description="restart the browser when its memory (PSS) passes this")
    browser_idle_close_seconds: float = Field(300, gt=0, description="close the browser after this long idle")
