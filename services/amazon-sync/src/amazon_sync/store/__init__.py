"""amazon-sync's synced data: its tables (`tables`), idempotent saves with exact counts (`OrderStore`,
`InventoryStore`), where each sync resumes (`Checkpoints`), and CSV exports streamed from the tables
(`Exports`)."""

from . import tables
from .exports import AZURE_COLUMNS, DATA_TYPES, INVENTORY_COLUMNS, MSSQL_COLUMNS, Exports
from .upserts import Checkpoints, InventoryCounts, InventoryStore, OrderStore, SaveCounts

__all__ = ["AZURE_COLUMNS", "DATA_TYPES", "INVENTORY_COLUMNS", "MSSQL_COLUMNS", "Checkpoints", "Exports",
           "InventoryCounts", "InventoryStore", "OrderStore", "SaveCounts", "tables"]
