"""What every process answers on its probes, in one shape: the instance APIs, the workers' probe port and
the manager. `/ready` is `{"ready": bool, <check>: bool, ...}`, 200 when every check passed, else 503;
`/kill` answers `{"was_running": true, "stopping": true}` and stops the process a moment later (after the
answer left)."""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger("hub.probes")


def readiness(**checks: bool) -> tuple[dict, int]:
    """The `/ready` answer and its status for these checks (e.g. database=True, broker=False)."""
    ready = all(checks.values())
    return {"ready": ready, **checks}, 200 if ready else 503


def stop_soon(pid: int | None = None, *, really: bool = True) -> dict:
    """`/kill`: SIGTERM to `pid` (default: this process) in 0.2 s, so the answer is sent first. `really`
    False (a test client) only answers."""
    log.warning("kill requested; shutting down")
    if really:
        threading.Timer(0.2, os.kill, (pid or os.getpid(), signal.SIGTERM)).start()
    return {"was_running": True, "stopping": True}
