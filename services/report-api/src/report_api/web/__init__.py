"""HTTP entrypoints of report-api: blueprints over the service modules."""
