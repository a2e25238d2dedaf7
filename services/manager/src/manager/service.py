"""The manager's use cases: registry changes that start, stop or restart instances, and the health
overview. Free of Flask."""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
import requests.adapters
from sqlalchemy import Engine

from hub_runtime.db import make_engine, normalize_url
from hub_runtime.kinds import installed_kinds
from hub_runtime.secrets import key_setting, write_secrets_file
from hub_runtime.tasks import reencrypt_task_secrets

from .registry import IntegrationView, Registry, RegistryError
from .settings import ManagerSettings
from .supervisor import Supervisor

log = logging.getLogger("manager")


class HealthPoller:
    """Refreshes what every running instance says about itself in the background, so the GUI's overview
    answers at once from the last round (each entry carries `checked_at`)."""

    def __init__(self, probe_all, interval: float):
        self.probe_all = probe_all
        self.interval = interval
        self._snapshot: dict[str, dict] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def last(self, integration_id: str) -> dict | None:
        return self._snapshot.get(integration_id)

    def refresh(self) -> None:
        self._snapshot = self.probe_all()

    def start(self) -> None:
        def loop():
            while not self._stop.is_set():
                try:
                    self.refresh()
                except Exception:
                    log.exception("health poll failed")
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=loop, name="health-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


class Manager:
    def __init__(self, settings: ManagerSettings, registry: Registry, supervisor: Supervisor, engine: Engine):
        self.settings = settings
        self.engine = engine
        self.registry = registry
        self.supervisor = supervisor
        self.http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=64, pool_maxsize=64)
        self.http.mount("http://", adapter)
        self.poller = HealthPoller(self.probe_running, settings.health_interval_seconds)

    # --- instance configuration ---------------------------------------------------------------------
    def environment(self, integration_id: str) -> dict[str, str]:
        """The environment of an instance: its data folder and (for SQLite) database; the manager's broker
        and PostgreSQL database otherwise. Its secrets (API token, the manager's encryption keys, the
        integration's credentials) go into `<data folder>/secrets.json`, mode 0600, written anew at every
        start; the environment only names that file."""
        data_dir = (self.settings.instances_dir / integration_id).resolve()
        secrets_file = data_dir / "secrets.json"
        credentials = self.registry.credentials(integration_id)
        write_secrets_file(secrets_file, {
            "api_token": self.registry.token(integration_id),
            "secret_keys": self.instance_keys(data_dir),
            **({"credentials": credentials} if credentials is not None else {}),
        })
        database = self.settings.database_url
        if not normalize_url(database).startswith("postgresql"):
            database = f"sqlite:///{data_dir / 'hub.db'}"
        env = {
            **{k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TZ") if k in os.environ},
            "HUB_SECRETS_FILE": str(secrets_file),
            "DATABASE_URL": database,
            "HUB_DATA_DIR": str(data_dir),
            "HUB_QUEUE_PREFIX": self.settings.queue_prefix,
            "HUB_LOG_FORMAT": "json",
            "HUB_LOG_LEVEL": self.settings.log_level,
        }
        if self.settings.amqp_url is not None:
            env["AMQP_URL"] = self.settings.amqp_url.get_secret_value()
        return env

    def rotate_secrets(self) -> tuple[int, int]:
        """Re-encrypt under the first key of HUB_SECRET_KEYS what the registry stores and the credentials
        of the instances' tasks (the instances use the manager's keys): (integrations, tasks)."""
        integrations = self.registry.rotate_encryption()
        if normalize_url(self.settings.database_url).startswith("postgresql"):  # the instances share it
            return integrations, reencrypt_task_secrets(self.engine, self.registry.box)
        tasks = 0
        for view in self.registry.list():
            database = self.settings.instances_dir / view.id / "hub.db"
            if database.exists():
                engine = make_engine(f"sqlite:///{database}")
                try:
                    tasks += reencrypt_task_secrets(engine, self.registry.box)
                finally:
                    engine.dispose()
        return integrations, tasks

    def instance_keys(self, data_dir) -> str:
        """The keys an instance encrypts its tasks' secrets with: the manager's, so that `manager
        --rotate-secrets` and HUB_SECRET_KEYS cover every instance. A key the instance made for itself
        before (`secret.key` in its folder) is kept last, to decrypt what it encrypted then."""
        keys = key_setting(self.settings.secret_keys.get_secret_value() if self.settings.secret_keys else None,
                           self.settings.data_dir)
        own = data_dir / "secret.key"
        return f"{keys},{own.read_text().strip()}" if own.exists() else keys

    def _specs(self, view: IntegrationView):
        return installed_kinds()[view.kind].processes(view.name, view.api_port, view.probe_port,
                                                      self.settings.instance_host,
                                                      self.registry.runnable_settings(view))

    # --- commands -----------------------------------------------------------------------------------
    def check_runnable(self, kind: str) -> None:
        """409 `cannot_run_here` unless this manager can start the processes of `kind` (checked before an
        integration is marked active, so a refusal changes nothing)."""
        if missing := self.supervisor.backend.missing(self.registry.kind(kind).programs):
            raise RegistryError(409, "cannot_run_here",
                                f"this manager cannot start {kind} instances: {', '.join(missing)} is not installed "
                                "beside it (in containers, run the instance as its own Deployment or service, and "
                                "keep it inactive here; deploy/README.md)")

    def start(self, integration_id: str, roles: tuple[str, ...] | None = None) -> dict:
        view = self.registry.get(integration_id)
        self.check_runnable(view.kind)
        self.supervisor.run(integration_id, self._specs(view), self.environment(integration_id), roles)
        return self.supervisor.status(integration_id)

    def stop(self, integration_id: str, roles: tuple[str, ...] | None = None, kill: bool = False) -> list[str]:
        self.registry.get(integration_id)  # 404 for an unknown id
        return self.supervisor.stop(integration_id, roles, kill=kill)

    def restart(self, integration_id: str, roles: tuple[str, ...] | None = None) -> dict:
        self.stop(integration_id, roles)
        return self.start(integration_id, roles)

    def activate(self, integration_id: str) -> dict:
        view = self.registry.get(integration_id)
        self.check_runnable(view.kind)
        self._specs(view)  # stored settings that no longer fit the kind: refused before anything changes
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
        (self.settings.instances_dir / integration_id / "secrets.json").unlink(missing_ok=True)
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
    def health(self, integration_id: str, live: bool = True) -> dict:
        """Supervisor state (local, always current) plus what the instance says about itself: asked now
        (`live`), or as the background poller last saw it (the overview, so it stays fast at any size)."""
        view = self.registry.get(integration_id)
        return self._compose(view, self.supervisor.status(view.id),
                             self._probe(view) if live else self.poller.last(view.id))

    def overview(self) -> list[dict]:
        return [self._compose(view, self.supervisor.status(view.id), self.poller.last(view.id))
                for view in self.registry.list()]

    def probe_running(self) -> dict[str, dict]:
        """Ask every running instance's /alive, concurrently (the poller's work)."""
        views = [v for v in self.registry.list()
                 if self.supervisor.status(v.id)["processes"].get("api", {}).get("state") == "running"]
        if not views:
            return {}
        with ThreadPoolExecutor(max_workers=min(32, len(views))) as pool:
            return dict(zip((v.id for v in views), pool.map(self._probe, views), strict=True))

    def _probe(self, view) -> dict:
        answer = {"api_alive": False, "worker_state": None, "queue_length": None, "checked_at": time.time()}
        try:
            alive = self.http.get(f"http://{self.settings.instance_host}:{view.api_port}/alive",
                                  timeout=self.settings.health_timeout_seconds).json()
            answer.update(api_alive=True, worker_state=alive["worker"]["state"],
                          queue_length=alive.get("queue_length"))
        except (requests.RequestException, ValueError, KeyError) as exc:
            answer["api_error"] = type(exc).__name__
        return answer

    @staticmethod
    def _compose(view, status: dict, probe: dict | None) -> dict:
        processes = status["processes"]
        api_running = processes.get("api", {}).get("state") == "running"
        probe = probe if probe and api_running else {}
        return {"id": view.id, "kind": view.kind, "name": view.name, "active": view.active,
                "state": status["state"], "processes": processes,
                "api_alive": probe.get("api_alive", False), "worker_state": probe.get("worker_state"),
                "queue_length": probe.get("queue_length"), "checked_at": probe.get("checked_at"),
                "last_error": next((p["last_error"] for p in processes.values() if p["last_error"]), None),
                "restarts": sum(p["restarts"] for p in processes.values())}

    def instance_queue(self, integration_id: str) -> dict:
        return self.instance_call(integration_id, "GET", "/queue")[1]

    def replay_dead_letters(self, integration_id: str, key: str | None) -> tuple[int, dict]:
        """Ask the instance to send its dead letters (or one task) to its worker again."""
        return self.instance_call(integration_id, "PUT", "/replay_dead_letters",
                                  params={"key": key} if key else None, passed_on=(404, 409, 503))

    def instance_call(self, integration_id: str, method: str, path: str, params: dict | None = None,
                      passed_on: tuple[int, ...] = ()) -> tuple[int, dict]:
        """A call to the instance's API with its token: (status, JSON answer). Statuses in `passed_on` are
        the instance's answer to hand on; anything else that is not a 2xx is a 503 `instance_unreachable`."""
        view = self.registry.get(integration_id)
        try:
            answer = self.http.request(method, f"http://{self.settings.instance_host}:{view.api_port}{path}",
                                       params=params, timeout=self.settings.health_timeout_seconds * 2,
                                       headers={"Authorization": f"Bearer {self.registry.token(integration_id)}"})
            if answer.status_code not in passed_on:
                answer.raise_for_status()
            return answer.status_code, answer.json()
        except (requests.RequestException, ValueError) as exc:
            raise RegistryError(503, "instance_unreachable",
                                f"the API of {integration_id} did not answer: {type(exc).__name__}") from None
