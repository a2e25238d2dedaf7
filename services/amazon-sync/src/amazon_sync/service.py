"""What one amazon-sync instance is made of, shared by its API and worker processes."""

from __future__ import annotations

import threading

from hub_runtime.config import RuntimeSettings
from hub_runtime.db import migrate
from hub_runtime.errors import PermanentError
from hub_runtime.kinds import KindConfigError
from hub_runtime.runtime import Instance, Runtime

from .activities import Activities
from .kind import KIND, AmazonCredentials, AmazonSettings
from .spapi import SpApiClient
from .spapi.lwa import shared_tokens
from .store import Checkpoints, Exports, InventoryStore, OrderStore
from .store.tables import MIGRATIONS, VERSION_TABLE
from .sync_schedules import SyncSchedules


class AmazonService:
    def __init__(self, settings: RuntimeSettings, amazon: AmazonSettings, name: str, role: str):
        self.settings = settings
        self.amazon = amazon
        self.runtime = Runtime(settings, Instance(KIND.name, name), role=role)
        migrate(self.runtime.engine, MIGRATIONS, VERSION_TABLE)
        sessions, instance = self.runtime.sessions, self.runtime.instance.id
        self.activities = Activities(sessions, self.runtime.tasks)
        self.orders = OrderStore(sessions, instance)
        self.inventory = InventoryStore(sessions, instance)
        self.checkpoints = Checkpoints(sessions, instance)
        self.exports = Exports(sessions, instance)
        self.schedules = SyncSchedules(sessions, instance, self.activities)

    def credentials(self) -> AmazonCredentials | None:
        """The seller's stored credentials; None when the manager stored none. `KindConfigError` when the
        stored ones do not fit (the message names fields, never values)."""
        return KIND.credentials_from(self.settings.credentials)

    def client(self, stop: threading.Event | None = None, credentials: AmazonCredentials | None = None):
        """An SP-API client for the stored seller (or `credentials`). Clients of one seller share the process's
        rate-limit buckets and access token, so jobs made one after the other neither burst twice nor ask LWA
        again; `stop`, once set, ends the client's waits with `Stopped`."""
        if credentials is None:
            credentials = self.stored_credentials()
        return SpApiClient(self.amazon, credentials, stop=stop, tokens=shared_tokens(self.amazon))

    def stored_credentials(self) -> AmazonCredentials:
        """The seller's stored credentials, or `PermanentError` saying what is missing or wrong."""
        try:
            credentials = self.credentials()
        except KindConfigError as exc:
            raise PermanentError("credentials_invalid", str(exc)) from None
        if credentials is None:
            raise PermanentError("credentials_missing", "no seller credentials are stored for this integration: "
                                 "set lwa_app_id, lwa_client_secret and refresh_token in the manager")
        return credentials

    def close(self) -> None:
        self.runtime.close()
