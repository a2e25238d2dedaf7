"""The manager's use cases: registry changes that start, stop or restart instances, and the health
overview. Free of Flask."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import Engine

from hub_runtime.db import normalize_url

from .kinds import KINDS
from .registry import Registry, RegistryError
from .settings import ManagerSettings
from .supervisor import Supervisor

log = logging.getLogger("manager")


class Manager:
    def __init__(self, settings: ManagerSettings, registry: Registry, supervisor: Supervisor, engine: Engine):
        self.settings = settings
        self.engine = engine
        self.registry = registry
        self.supervisor = supervisor
        self.http = requests.Session()

    # --- instance configuration ---------------------------------------------------------------------
    def environment(self, integration_id: str) -> dict[str, str]:
        """The environment of an instance: its own token, data folder and (for SQLite) database; the
        manager's broker and PostgreSQL database otherwise."""
        view = self.registry.get(integration_id)
        data_dir = (self.settings.instances_dir / integration_id).resolve()
        database = self.settings.database_url
        if not normalize_url(database).startswith("postgresql"):
            database = f"sqlite:///{data_dir / 'hub.db'}"
        env = {
            **{k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TZ") if k in os.environ},
            "HUB_API_TOKEN": self.registry.token(integration_id),
            "DATABASE_URL": database,
            "HUB_DATA_DIR": str(data_dir),
            "HUB_QUEUE_PREFIX": self.settings.queue_prefix,
            "HUB_LOG_FORMAT": "json",
            "HUB_LOG_LEVEL": self.settings.log_level,
            "HUB_INTEGRATION_ID": view.id,
        }
        if self.settings.amqp_url is not None:
            env["AMQP_URL"] = self.settings.amqp_url.get_secret_value()
        return env

    def _specs(self, integration_id: str):
        view = self.registry.get(integration_id)
        return KINDS[view.kind].processes(view.name, view.api_port, view.probe_port, self.settings.instance_host,
                                          view.settings)

    # --- commands -----------------------------------------------------------------------------------
    def start(self, integration_id: str, roles: tuple[str, ...] | None = None) -> dict:
        self.supervisor.run(integration_id, self._specs(integration_id), self.environment(integration_id), roles)
        return self.supervisor.status(integration_id)

    def stop(self, integration_id: str, roles: tuple[str, ...] | None = None, kill: bool = False) -> list[str]:
        self.registry.get(integration_id)  # 404 for an unknown id
        return self.supervisor.stop(integration_id, roles, kill=kill)

    def restart(self, integration_id: str, roles: tuple[str, ...] | None = None) -> dict:
        self.stop(integration_id, roles)
        return self.start(integration_id, roles)

    def activate(self, integration_id: str) -> dict:
        self.registry.set_active(integration_id, True)
        return self.start(integration_id)

    def deactivate(self, integration_id: str) -> None:
        self.registry.set_active(integration_id, False)
        self.stop(integration_id)

    def reconfigured(self, integration_id: str) -> None:
        """Settings, credentials or token changed: an active integration restarts with them."""
        if self.registry.get(integration_id).active:
            self.restart(integration_id)

    def delete(self, integration_id: str) -> None:
        self.registry.get(integration_id)
        self.supervisor.forget(integration_id)
        self.registry.delete(integration_id)

    def boot(self) -> list[str]:
        """At start: stop what a previous manager left running, then start every active integration."""
        self.supervisor.clean_up_leftovers()
        started = []
        for view in self.registry.list():
            if view.active:
                try:
                    self.start(view.id)
                    started.append(view.id)
                except RegistryError as exc:
                    log.error("cannot start %s: %s", view.id, exc.message)
        log.info("started %d active integrations", len(started))
        return started

    # --- health -------------------------------------------------------------------------------------
    def health(self, integration_id: str) -> dict:
        """Supervisor state plus what the instance says about itself (API alive, worker state, queue)."""
        view = self.registry.get(integration_id)
        status = self.supervisor.status(integration_id)
        api = f"http://{self.settings.instance_host}:{view.api_port}"
        timeout = self.settings.health_timeout_seconds
        answer = {"id": view.id, "kind": view.kind, "name": view.name, "active": view.active,
                  "state": status["state"], "processes": status["processes"], "api_alive": False,
                  "worker_state": None, "queue_length": None,
                  "last_error": next((p["last_error"] for p in status["processes"].values() if p["last_error"]),
                                     None),
                  "restarts": sum(p["restarts"] for p in status["processes"].values())}
        if status["processes"].get("api", {}).get("state") != "running":
            return answer
        try:
            alive = self.http.get(api + "/alive", timeout=timeout).json()
            answer["api_alive"] = True
            answer["worker_state"] = alive["worker"]["state"]
            queue = self.http.get(api + "/queue", timeout=timeout,
                                  headers={"Authorization": f"Bearer {self.registry.token(integration_id)}"})
            if queue.ok:
                answer["queue_length"] = queue.json()["length"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            answer["api_error"] = type(exc).__name__
        return answer

    def overview(self) -> list[dict]:
        ids = [view.id for view in self.registry.list()]
        if not ids:
            return []
        with ThreadPoolExecutor(max_workers=min(32, len(ids))) as pool:
            return list(pool.map(self.health, ids))

    def instance_queue(self, integration_id: str) -> dict:
        view = self.registry.get(integration_id)
        try:
            answer = self.http.get(f"http://{self.settings.instance_host}:{view.api_port}/queue",
                                   timeout=self.settings.health_timeout_seconds * 2,
                                   headers={"Authorization": f"Bearer {self.registry.token(integration_id)}"})
            answer.raise_for_status()
            return answer.json()
        except requests.RequestException as exc:
            raise RegistryError(503, "instance_unreachable",
                                f"the API of {integration_id} did not answer: {type(exc).__name__}") from None
