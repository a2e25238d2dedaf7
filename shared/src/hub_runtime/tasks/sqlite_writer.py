"""The task store's writer on SQLite."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, text, update

from .. import fastjson
from ..models import Task, TaskEvent, TaskStatus
from .views import VIEW_COLUMNS
from .writer import MAY_START, StoreWriter, outbox_body


class SQLiteWriter(StoreWriter):
    """SQLite: three statements on the driver's connection in one `BEGIN IMMEDIATE` transaction; the
    tasks go in as one JSON array (`json_each`), so that `ON CONFLICT DO NOTHING RETURNING` says which
    keys were free. Values are stored as SQLAlchemy stores them (JSON text, its timestamp format)."""

    def __init__(self, engine: Engine, queue: str):
        self.engine = engine
        self.queue = queue

    def write(self, rows: list[dict]) -> dict[str, str]:
        batch = {}
        for row in rows:
            at = row["created_at"]
            batch[row["id"]] = {
                "id": row["id"], "kind": row["kind"], "key": row["key"], "fingerprint": row["fingerprint"],
                "payload": fastjson.dumps(row["payload"]), "secret": row["secret"],
                "at": f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond:06d}", "body": outbox_body(row)}
        with self.engine.begin() as conn:  # BEGIN IMMEDIATE (db.py)
            cursor = conn.connection.driver_connection.cursor()
            try:
                cursor.execute(_TASKS, (rows[0]["instance"], TaskStatus.PLACED,
                                        fastjson.dumps(list(batch.values()))))
                inserted = {key: task_id for task_id, key in cursor.fetchall()}
                if inserted:
                    new = [b for b in batch.values() if inserted.get(b["key"]) == b["id"]]
                    cursor.executemany(_EVENT, [(r["id"], TaskStatus.PLACED, r["at"]) for r in new])
                    cursor.executemany(_OUTBOX, [(self.queue, r["id"], r["body"], r["at"]) for r in new])
            finally:
                cursor.close()
        return inserted

    def start(self, task_id: str, instance: str, at: datetime) -> tuple | None:
        statement = (update(Task).where(Task.id == task_id, Task.instance == instance, text(MAY_START))
                     .values(status=TaskStatus.PROCESSING, reason_code=None, reason_text=None,
                             attempts=Task.attempts + 1, updated_at=at)
                     .returning(*_view_columns(), Task.secret))
        with self.engine.begin() as conn:
            row = conn.execute(statement).one_or_none()
            if row is not None:
                conn.execute(insert(TaskEvent).values(task_id=task_id, status=TaskStatus.PROCESSING, at=at))
        return row

    def finish(self, task_id: str, status: str, reason_code: str | None, reason_text: str | None,
               result: dict | None, forget_secret: bool, at: datetime) -> tuple:
        values = {"status": status, "reason_code": reason_code, "reason_text": reason_text, "updated_at": at}
        if result is not None:
            values["result"] = result
        if forget_secret:
            values["secret"] = None
        with self.engine.begin() as conn:
            row = conn.execute(update(Task).where(Task.id == task_id).values(**values)
                               .returning(*_view_columns())).one()
            conn.execute(insert(TaskEvent).values(task_id=task_id, status=status, detail=reason_text, at=at))
        return row


def _view_columns() -> list:
    return [getattr(Task, name) for name in VIEW_COLUMNS]


_TASKS = """
INSERT INTO tasks (id, instance, kind, key, fingerprint, payload, secret, status, attempts, created_at, updated_at)
SELECT json_extract(value, '$.id'), ?1, json_extract(value, '$.kind'), json_extract(value, '$.key'),
       json_extract(value, '$.fingerprint'), json_extract(value, '$.payload'), json_extract(value, '$.secret'),
       ?2, 0, json_extract(value, '$.at'), json_extract(value, '$.at')
FROM json_each(?3) WHERE true
ON CONFLICT (instance, key) DO NOTHING
RETURNING id, key
"""
_EVENT = "INSERT INTO task_events (task_id, status, at) VALUES (?, ?, ?)"
_OUTBOX = "INSERT INTO outbox (queue, message_id, body, created_at, attempts) VALUES (?, ?, ?, ?, 0)"
