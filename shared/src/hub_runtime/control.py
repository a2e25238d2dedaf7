"""Worker control and heartbeat, kept in the database.

The API records what the operator wants (`running` or `paused`); the worker reads it before taking a
message (at most every 0.2 s while busy, `Worker.control_poll_seconds`) and reports what it does with a
heartbeat. The desired state is a row rather than a broker message so that
it survives restarts (a paused worker stays paused) and works while the broker is down; the API confirms a
change by waiting for the heartbeat that reports it.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from .db import transaction
from .models import WorkerState, utcnow

RUNNING = "running"
PAUSED = "paused"


@dataclass(frozen=True)
class WorkerHealth:
    state: str  # running | stopped | dead | never_started
    desired: str
    pid: int | None
    heartbeat_age_seconds: float | None
    current_task: str | None

    def as_dict(self) -> dict:
        return {"state": self.state, "desired": self.desired, "pid": self.pid,
                "heartbeat_age_seconds": self.heartbeat_age_seconds, "current_task": self.current_task}


class WorkerControl:
    def __init__(self, sessions: sessionmaker[Session], instance: str, heartbeat_timeout: float = 10.0):
        self.sessions = sessions
        self.instance = instance
        self.heartbeat_timeout = heartbeat_timeout

    def _row(self, session: Session) -> WorkerState:
        row = session.get(WorkerState, self.instance)
        if row is None:
            row = WorkerState(instance=self.instance, desired=RUNNING, desired_at=utcnow())
            session.add(row)
        return row

    def request(self, desired: str) -> None:
        if desired not in (RUNNING, PAUSED):
            raise ValueError(desired)
        with transaction(self.sessions) as session:
            row = self._row(session)
            row.desired = desired
            row.desired_at = utcnow()

    def desired(self) -> str:
        with self.sessions() as session:
            row = session.get(WorkerState, self.instance)
            return row.desired if row else RUNNING

    def beat(self, reported: str, current_task: str | None = None) -> None:
        with transaction(self.sessions) as session:
            row = self._row(session)
            row.reported = reported
            row.pid = os.getpid()
            row.host = socket.gethostname()
            row.current_task = current_task
            row.heartbeat_at = utcnow()

    def signed_off(self) -> None:
        """The worker stopped on purpose: report `stopped` at once instead of ageing into `dead`."""
        self.beat("exited")

    def health(self) -> WorkerHealth:
        with self.sessions() as session:
            row = session.get(WorkerState, self.instance)
            if row is None or row.heartbeat_at is None:
                return WorkerHealth("never_started", row.desired if row else RUNNING, None, None, None)
            age = (utcnow() - row.heartbeat_at).total_seconds()
            if row.reported == "exited":
                state = "stopped"
            elif age > self.heartbeat_timeout:
                state = "dead"
            else:
                state = "running" if row.reported == RUNNING else "stopped"
            return WorkerHealth(state, row.desired, row.pid, round(age, 3), row.current_task)

    def wait_for(self, state: str, timeout: float) -> bool:
        """Wait until the heartbeat reports `state` (running / stopped); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.health().state == state:
                return True
            time.sleep(0.1)
        return False
