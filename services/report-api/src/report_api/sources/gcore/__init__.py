"""The gcore source: Gcore usage reports (CDN, Web Security, Cloud) of one client, from the reseller account
the instance's credentials name (docs/report-api.md, "The gcore source")."""

from __future__ import annotations

from ..base import ReportSource
from .formats import FORMATS, render
from .handler import Gcore
from .params import GcoreParams


def gcore_source(gcore: Gcore | None = None) -> ReportSource:
    """The source over `gcore` (by default its settings come from the instance's HUB_GCORE_* variables)."""
    from .routes import gcore_blueprint

    gcore = gcore or Gcore()
    return ReportSource(
        name="gcore", params=GcoreParams, handler=gcore.generate, routes=lambda ctx: gcore_blueprint(ctx, gcore),
        formats=FORMATS, render=render,
        summary="Gcore usage reports (cdn, waap, cloud or all) of one client, as JSON, CSV or XLSX")


SOURCE = gcore_source()
