"""Find the machine's PostgreSQL and RabbitMQ for tests, and give each test run its own database.

`REQUIRE_POSTGRES=1` / `REQUIRE_RABBITMQ=1` turn "not reachable" from a skip into a failure (CI sets them).
Without them, and with a Docker engine, testcontainers may be used by setting the URLs yourself.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

POSTGRES_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBITMQ_URL = os.environ.get("AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672/%2F"


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def need(service: str, url: str, port: int, flag: str) -> None:
    if reachable(url, port):
        return
    message = f"{service} is not reachable at {urlsplit(url).hostname}:{urlsplit(url).port or port}"
    if os.environ.get(flag) == "1":
        pytest.fail(f"{message} and {flag}=1", pytrace=False)
    pytest.skip(message)


def postgres_available() -> bool:
    return reachable(POSTGRES_ADMIN_URL, 5432)


def create_postgres_database() -> tuple[str, callable]:
    """A fresh database named hub_test_<random>; returns its URL and a function that drops it."""
    import psycopg

    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]

    def drop() -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


@contextmanager
def serving(app) -> Iterator[str]:
    """A WSGI app served over real HTTP by a thread of this process, on a free port; yields its base URL and
    stops the server after."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def delete_queues(amqp_url: str, queues: list[str]) -> None:
    """Delete these RabbitMQ queues and their dead-letter queues (what a test or benchmark declared)."""
    import pika

    from ..broker.base import DLQ_SUFFIX

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        for queue in queues:
            channel.queue_delete(queue)
            channel.queue_delete(queue + DLQ_SUFFIX)
    finally:
        connection.close()
