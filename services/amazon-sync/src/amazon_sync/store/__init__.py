"""amazon-sync's synced data: its tables (`tables`), idempotent saves with exact counts (`OrderStore`,
`InventoryStore`), where each sync resumes (`Checkpoints`), and CSV exports streamed from the tables."""

from . import tables
from .upserts import Checkpoints, InventoryCounts, InventoryStore, OrderStore, SaveCounts

__all__ = ["Checkpoints", "InventoryCounts", "InventoryStore", "OrderStore", "SaveCounts", "tables"]
