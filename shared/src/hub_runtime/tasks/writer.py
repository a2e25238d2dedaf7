"""What a database's writer of the task store does (`StoreWriter`), and what both writers share."""

from __future__ import annotations

from datetime import datetime

from .. import fastjson
from ..db import UNAVAILABLE
from ..models import TaskStatus

# A task may start unless it is final; a dead-lettered one may start again (replayed from the DLQ).
MAY_START = f"""(status NOT IN ('{TaskStatus.CREATED}', '{TaskStatus.ERROR}', '{TaskStatus.CANCELLED}')
                 OR (status = '{TaskStatus.ERROR}' AND reason_code = 'dead_lettered'))"""


def outbox_body(row: dict) -> str:
    """The message published for a new task (a row of `tasks` columns)."""
    return fastjson.dumps({"task_id": row["id"], "key": row["key"], "kind": row["kind"]})


class StoreWriter:
    """The task store's statements on every order's path, each one transaction with its status event:
    `write` (the intake batch), `start` and `finish` (the worker's transitions)."""

    unavailable = UNAVAILABLE  # the database is away: do not retry

    def write(self, rows: list[dict]) -> dict[str, str]:
        """Insert new tasks (dicts of `tasks` columns) with their first events and outbox messages;
        returns {key: id} of the tasks inserted (a key already taken is skipped)."""
        raise NotImplementedError

    def start(self, task_id: str, instance: str, at: datetime) -> tuple | None:
        """Move the task to `processing` and count the attempt, unless it is final (`MAY_START`) or of
        another instance; returns its `VIEW_COLUMNS` and its `secret`, or None."""
        raise NotImplementedError

    def finish(self, task_id: str, status: str, reason_code: str | None, reason_text: str | None,
               result: dict | None, forget_secret: bool, at: datetime) -> tuple:
        """Set the task's outcome (`result` None keeps the stored one; `forget_secret` drops the
        credentials); returns its `VIEW_COLUMNS`."""
        raise NotImplementedError
