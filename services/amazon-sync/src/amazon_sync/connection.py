"""What the instance records of its connection to Amazon (`amazon_connection`): when it connected, until
when the access token holds, the last error. Never a token or a secret."""

from __future__ import annotations

from datetime import UTC, datetime

from hub_runtime.db import transaction
from hub_runtime.models import utcnow
from hub_runtime.tasks import iso

from .models import Connection


class ConnectionState:
    def __init__(self, sessions, instance: str):
        self.sessions = sessions
        self.instance = instance

    def connected(self, lwa_app_id: str, expires_at: str | None) -> Connection:
        moment = datetime.fromisoformat(expires_at.rstrip("Z")) if expires_at else None
        return self._save(lwa_app_id=lwa_app_id, connected_at=utcnow(), checked_at=utcnow(),
                          token_expires_at=moment, last_error=None)

    def failed(self, lwa_app_id: str, message: str) -> Connection:
        return self._save(lwa_app_id=lwa_app_id, checked_at=utcnow(), connected_at=None, last_error=message[:500])

    def get(self) -> Connection | None:
        with self.sessions() as session:
            return session.get(Connection, self.instance)

    def view(self, credentials, problem: str | None) -> dict:
        record = self.get()
        expires = record.token_expires_at if record else None
        connected = bool(record and record.connected_at and credentials is not None
                         and record.lwa_app_id == credentials.lwa_app_id)
        return {
            "isConnected": connected,
            "credentials_stored": credentials is not None,
            "credentials_problem": problem,
            "lwa_app_id": credentials.lwa_app_id if credentials else None,
            "connected_at": iso(record.connected_at) if record else None,
            "checked_at": iso(record.checked_at) if record else None,
            "expires_at": iso(expires),
            "token_valid": bool(connected and expires and expires > datetime.now(UTC).replace(tzinfo=None)),
            "last_error": record.last_error if record else None,
        }

    def _save(self, **values) -> Connection:
        with transaction(self.sessions) as session:
            record = session.get(Connection, self.instance)
            if record is None:
                record = Connection(instance=self.instance)
                session.add(record)
            for name, value in values.items():
                setattr(record, name, value)
        return self.get()
