"""The carbonaltdelete source: a company's carbon inventory (DATA_DUMP as XLSX, or another report type and
format) downloaded from CarbonAltDelete with the integration's stored credentials (docs/report-api.md,
"The carbonaltdelete source")."""

from __future__ import annotations

from ..base import ReportSource
from .handler import check_configured, download_inventory
from .params import InventoryParams
from .routes import inventory_routes

SOURCE = ReportSource(
    name="carbonaltdelete", params=InventoryParams, handler=download_inventory, routes=inventory_routes,
    check=check_configured,
    summary="a company's carbon inventory (XLSX) downloaded from CarbonAltDelete, by company and reporting period")
