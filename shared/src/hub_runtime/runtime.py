"""What one instance of a service is built from: its identity, settings, database, broker and stores."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from .broker.base import Broker
from .config import RuntimeSettings
from .control import WorkerControl
from .db import make_engine, make_sessions, migrate
from .outbox import OutboxRelay
from .secrets import SecretBox
from .tasks import TaskStore


def slugify(name: str) -> str:
    """`Bennys Auto` -> `bennys-auto`: the form used in queue names, process names and URLs."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise ValueError(f"{name!r} has no letters or digits to name an instance by")
    return slug


@dataclass(frozen=True)
class Instance:
    """One integration instance: `kind` (erp, rules, ...) and the name of what it serves."""

    kind: str
    name: str

    @property
    def slug(self) -> str:
        return slugify(self.name)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.slug}"

    def queue(self, prefix: str = "") -> str:
        return f"{prefix}{self.kind}.{self.slug}"


def make_broker(settings: RuntimeSettings, *, reconnect_seconds: float | None = None,
                connection_name: str = "hub") -> Broker:
    """RabbitMQ when `AMQP_URL` is set, else the embedded SQLite queue in the data folder."""
    timeout = reconnect_seconds if reconnect_seconds is not None else settings.broker_reconnect_seconds
    if settings.amqp_url is not None:
        from .broker.rabbitmq import RabbitMQBroker

        return RabbitMQBroker(settings.amqp_url.get_secret_value(), reconnect_timeout=timeout,
                              connection_name=connection_name)
    from .broker.sqlite_queue import SQLiteQueueBroker

    return SQLiteQueueBroker(str(settings.queue_path))


class Runtime:
    """Built once per process. The broker is opened lazily, so an API answers its probes even while the
    broker is away."""

    def __init__(self, settings: RuntimeSettings, instance: Instance, *, run_migrations: bool = True,
                 role: str = "api"):
        self.settings = settings
        self.instance = instance
        self.role = role
        self.queue = instance.queue(settings.queue_prefix)
        self.engine = make_engine(settings.database_url, settings.db_pool_size, settings.db_max_overflow)
        if run_migrations:
            migrate(self.engine)
        self.sessions = make_sessions(self.engine)
        secret = settings.secret_keys.get_secret_value() if settings.secret_keys else None
        self.box = SecretBox.from_setting(secret, settings.data_dir)
        self.tasks = TaskStore(self.sessions, instance.id, self.queue, self.box)
        self.control = WorkerControl(self.sessions, instance.id, settings.heartbeat_timeout_seconds)

    @cached_property
    def broker(self) -> Broker:
        broker = make_broker(self.settings, connection_name=f"{self.role}:{self.instance.id}")
        return broker

    def outbox_relay(self) -> OutboxRelay:
        """The relay that publishes this database's outbox, on a broker connection of its own (the
        worker's consumer keeps its connection to itself). Not started."""
        sqlite = self.engine.dialect.name == "sqlite"
        poll = self.settings.outbox_sqlite_poll_seconds if sqlite else self.settings.outbox_poll_seconds
        broker = make_broker(self.settings, connection_name=f"relay:{self.instance.id}")
        return OutboxRelay(self.sessions, broker, self.instance.id, poll_seconds=poll, own_broker=True)

    def close(self) -> None:
        if "broker" in self.__dict__:
            self.broker.close()
        self.engine.dispose()
