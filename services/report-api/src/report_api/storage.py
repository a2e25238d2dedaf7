"""An instance's files: the report files its sources produce (`outputs/`), and the staging folder where
the request parser streams uploaded parts before a source checks and keeps them (the rules source's
uploads: `report_api.sources.rules.uploads`)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

STAGED_MAX_AGE = 24 * 3600  # seconds a staging file may sit untouched before it counts as left behind


class Storage:
    def __init__(self, root: Path):
        self.root = root
        self.staging = root / "staging"
        self.staging.mkdir(parents=True, exist_ok=True)
        (root / "outputs").mkdir(parents=True, exist_ok=True)

    def new_staging_file(self):
        """An open binary file in the staging folder (the request parser streams a part into it)."""
        return tempfile.NamedTemporaryFile(dir=self.staging, prefix="part-", delete=False)

    def output_path(self, task_id: str, fmt: str) -> Path:
        return self.root / "outputs" / f"{task_id}.{fmt}"

    # --- leftovers of killed processes ----------------------------------------------------------------------
    def remove_leftovers(self, *, partial_reports: bool, staged_older_than: float = STAGED_MAX_AGE) -> int:
        """Delete what a killed process left: staging files untouched for `staged_older_than` seconds (an
        API stopped mid-upload), and with `partial_reports` every unfinished report file (a worker stopped
        mid-report; only when no report is being written, i.e. when the instance's one worker starts).
        Returns how many files went."""
        cutoff = time.time() - staged_older_than
        doomed = [p for p in self.staging.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
        if partial_reports:
            doomed += [p for p in (self.root / "outputs").glob(".*.partial") if p.is_file()]
        for path in doomed:
            path.unlink(missing_ok=True)
        return len(doomed)
