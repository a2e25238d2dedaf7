"""erp-worker: creates order lines in one workshop's ERP."""
