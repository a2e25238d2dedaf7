"""Which adapter serves which ERP: the entry points of the group `hub.erp_adapters`, each naming a factory
`make(erp: ErpSettings, settings: ErpWorkerSettings) -> ErpAdapter`. A new ERP system is one adapter module
and one line under `[project.entry-points."hub.erp_adapters"]` in its package's pyproject.toml."""

from __future__ import annotations

from hub_runtime.kinds import load_plugin

from .adapters.base import ErpAdapter
from .kind import ADAPTERS_GROUP, ErpSettings
from .settings import ErpWorkerSettings


def make_adapter(erp: ErpSettings, settings: ErpWorkerSettings) -> ErpAdapter:
    try:
        factory = load_plugin(ADAPTERS_GROUP, erp.adapter)
    except LookupError as exc:
        raise SystemExit(f"HUB_ERP_ADAPTER: {exc}") from None
    return factory(erp, settings)
