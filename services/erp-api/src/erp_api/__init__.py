"""erp-api: order intake for one workshop."""
