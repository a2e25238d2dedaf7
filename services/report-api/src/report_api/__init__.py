"""report-api: report sources (first the CSV rules engine) behind one authenticated API, run as broker jobs."""
