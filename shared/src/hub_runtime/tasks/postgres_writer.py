"""The task store's writer on PostgreSQL: one prepared statement per write."""

from __future__ import annotations

import threading
from contextlib import suppress
from datetime import datetime

from sqlalchemy import Engine, event

from .. import fastjson
from ..db import own_connection
from ..models import OUTBOX_CHANNEL, TaskStatus
from .views import VIEW_COLUMNS
from .writer import MAY_START, StoreWriter, outbox_body

# One statement writes the whole batch: a single statement is one transaction, so it runs in autocommit
# mode (no BEGIN/COMMIT round trips), prepared once on the server. The rows travel as one JSON array (one
# json.dumps instead of a parameter per column and row), so the statement's text is the same for any batch.
# `pg_notify` wakes the outbox relays LISTENing in other processes (models.OUTBOX_CHANNEL) once the batch
# has committed; PostgreSQL sends one notification per transaction however many rows call it.
_BATCH = f"""
WITH batch AS (
    SELECT * FROM json_to_recordset(%(rows)s::json)
        AS b(id varchar, kind varchar, key varchar, fingerprint varchar, payload json, secret text,
             created_at timestamp, body text)
), new AS (
    INSERT INTO tasks (id, instance, kind, key, fingerprint, payload, secret, status, attempts, created_at,
                       updated_at)
    SELECT id, %(instance)s, kind, key, fingerprint, payload, secret, %(status)s, 0, created_at, created_at
    FROM batch
    ON CONFLICT (instance, key) DO NOTHING
    RETURNING id, key
), events AS (
    INSERT INTO task_events (task_id, status, at)
    SELECT new.id, %(status)s, batch.created_at FROM new JOIN batch USING (id)
), messages AS (
    INSERT INTO outbox (queue, message_id, body, created_at, attempts)
    SELECT %(queue)s, new.id, batch.body, batch.created_at, 0 FROM new JOIN batch USING (id)
    ORDER BY batch.created_at
)
SELECT id, key, pg_notify('{OUTBOX_CHANNEL}', '') FROM new
"""


# A worker's transitions, each one statement (so one round trip and one commit) like the batch.
_START = f"""
WITH moved AS (
    UPDATE tasks SET status = %(status)s, reason_code = NULL, reason_text = NULL, attempts = attempts + 1,
                     updated_at = %(at)s
    WHERE id = %(id)s AND instance = %(instance)s AND {MAY_START}
    RETURNING {", ".join(VIEW_COLUMNS)}, secret
), event AS (
    INSERT INTO task_events (task_id, status, at) SELECT id, status, %(at)s FROM moved
)
SELECT * FROM moved
"""
_FINISH = f"""
WITH moved AS (
    UPDATE tasks SET status = %(status)s, reason_code = %(reason_code)s, reason_text = %(reason_text)s,
                     updated_at = %(at)s, result = COALESCE(%(result)s::json, result),
                     secret = CASE WHEN %(forget_secret)s THEN NULL ELSE secret END
    WHERE id = %(id)s
    RETURNING {", ".join(VIEW_COLUMNS)}
), event AS (
    INSERT INTO task_events (task_id, status, detail, at) SELECT id, status, reason_text, %(at)s FROM moved
)
SELECT * FROM moved
"""


class PostgresWriter(StoreWriter):
    """PostgreSQL: each write one prepared statement on a connection of the writer's own (autocommit),
    used by one caller at a time (the group-commit leader, the worker) and closed when the engine is
    disposed."""

    def __init__(self, engine: Engine, instance: str, queue: str):
        self.engine = engine
        self.instance = instance
        self.queue = queue
        self._conn = None
        self._lock = threading.Lock()
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def write(self, rows: list[dict]) -> dict[str, str]:
        batch = [{"id": row["id"], "kind": row["kind"], "key": row["key"], "fingerprint": row["fingerprint"],
                  "payload": row["payload"], "secret": row["secret"], "created_at": row["created_at"].isoformat(),
                  "body": outbox_body(row)} for row in rows]
        params = {"rows": fastjson.dumps(batch), "instance": self.instance, "queue": self.queue,
                  "status": TaskStatus.PLACED}
        return {key: task_id for task_id, key, _ in self._run(_BATCH, params)}

    def start(self, task_id: str, instance: str, at: datetime) -> tuple | None:
        rows = self._run(_START, {"id": task_id, "instance": instance, "status": TaskStatus.PROCESSING, "at": at})
        return rows[0] if rows else None

    def finish(self, task_id: str, status: str, reason_code: str | None, reason_text: str | None,
               result: dict | None, forget_secret: bool, at: datetime) -> tuple:
        (row,) = self._run(_FINISH, {
            "id": task_id, "status": status, "reason_code": reason_code, "reason_text": reason_text, "at": at,
            "result": None if result is None else fastjson.dumps(result), "forget_secret": forget_secret})
        return row

    def _run(self, statement: str, params: dict) -> list[tuple]:
        """Run one statement (its own transaction) and return its rows."""
        with self._lock:
            fresh = self._conn is None
            try:
                return self._connection().execute(statement, params, prepare=True).fetchall()
            except self.unavailable:
                self._close_broken()
                if fresh:
                    raise
            # a connection kept from before failed (the server restarted, or closed it): once more on a new one
            return self._connection().execute(statement, params, prepare=True).fetchall()

    def _connection(self):
        if self._conn is None:
            self._conn = own_connection(self.engine)
        return self._conn

    def _close_broken(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._close_broken()
