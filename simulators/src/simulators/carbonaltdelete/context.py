"""What the blueprints share: the demo data, tokens, fault switches, report jobs, the S3 endpoint and the
counters, in `current_app.extensions["carbonaltdelete"]`."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from flask import current_app

from .auth import Tokens
from .data import DemoData
from .faults import Faults
from .reports import Reports
from .s3 import S3Endpoint

EXTENSION_KEY = "carbonaltdelete"
COUNTERS = ("requests", "logins", "failed_logins", "refreshes", "switches", "reports_created", "urls_issued")


@dataclass
class CadContext:
    data: DemoData
    tokens: Tokens
    faults: Faults
    reports: Reports
    s3: S3Endpoint
    speed: float
    seed: int
    _counters: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str) -> None:
        with self._lock:
            self._counters[name] += 1

    def counters(self) -> dict[str, int]:
        with self._lock:
            counts = {name: self._counters[name] for name in COUNTERS}
        return counts | {"downloads": self.s3.downloads}

    def reset_counters(self) -> None:
        with self._lock:
            self._counters.clear()
        self.s3.reset_downloads()

    def close(self) -> None:
        """Stop the report jobs and the S3 endpoint."""
        self.reports.cancel_all()
        self.s3.stop()


def cad() -> CadContext:
    return current_app.extensions[EXTENSION_KEY]
