"""Integration kinds as plugins. A kind (erp, rules, gcore, ...) is declared once, by the package that
implements it, as a `Kind` object behind an entry point of the group `hub.kinds`:

    [project.entry-points."hub.kinds"]
    erp = "erp_worker.kind:KIND"

The declaration says everything the manager, `hubctl` and the instances need: the settings model (a flat
pydantic model; the one place each default lives, and the JSON schema the ILX GUI draws its form from), the
credentials model, the console scripts of the API and the worker, and how settings become environment
variables. The same mapping reads them back in the instance (`Kind.settings_from_environment`), so a setting
is named in one place. ERP adapters (`hub.erp_adapters`) and report sources (`hub.report_sources`) are
found the same way (`plugin_names`, `load_plugin`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from pydantic import BaseModel, ConfigDict, Field, ValidationError

KINDS_GROUP = "hub.kinds"


class KindConfigError(ValueError):
    """An instance's kind settings or stored credentials are missing or invalid (the message names the
    variables or fields, never a value)."""


class InstanceSettings(BaseModel):
    """The settings every kind has: its fields are read from `HUB_<NAME>` whatever the kind's prefix."""

    model_config = ConfigDict(extra="forbid")

    api_workers: int = Field(1, ge=1, le=8, description="API processes (see docs/erp-orders.md, Intake)")


@dataclass(frozen=True)
class ProcessSpec:
    """One process of an instance: `role` is `api` or `worker`."""

    role: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    health_path: str | None = None  # what the supervisor may probe over HTTP once it runs


@dataclass(frozen=True)
class Kind:
    """An integration kind. `settings` must subclass `InstanceSettings` and hold scalar fields (str, int,
    float, bool, or None), since each becomes one environment variable: `env_prefix` + the field's name in
    capitals. `extra_env` adds variables that follow from the settings (e.g. which report source to serve).
    The API's console script takes `PORT NAME --host HOST`, the worker's `NAME`."""

    name: str
    description: str
    settings: type[InstanceSettings]
    credentials: type[BaseModel] | None
    api: str
    worker: str
    env_prefix: str = "HUB_"
    extra_env: Callable[[InstanceSettings], dict[str, str]] | None = None

    @property
    def programs(self) -> tuple[str, str]:
        return self.api, self.worker

    def env_name(self, field_name: str) -> str:
        prefix = "HUB_" if field_name in InstanceSettings.model_fields else self.env_prefix
        return prefix + field_name.upper()

    def environment(self, settings: Mapping | InstanceSettings) -> dict[str, str]:
        """The settings as the instance's environment variables (unset optional fields are left out)."""
        model = settings if isinstance(settings, BaseModel) else self.settings.model_validate(settings)
        env = {self.env_name(name): _env_value(value)
               for name, value in model.model_dump(mode="json").items() if value is not None}
        if self.extra_env is not None:
            env.update(self.extra_env(model))
        return env

    def read_settings(self, environ: Mapping[str, str] | None = None) -> InstanceSettings:
        """The instance's side of `environment`: its settings, from the variables the manager (or a
        deployment file) set; `KindConfigError` naming each bad variable."""
        environ = os.environ if environ is None else environ
        values = {name: environ[self.env_name(name)] for name in self.settings.model_fields
                  if self.env_name(name) in environ}
        try:
            return self.settings.model_validate(values)
        except ValidationError as exc:
            problems = [f"{self.env_name(str(err['loc'][0])) if err['loc'] else '?'}: "
                        f"{'is required' if err['type'] == 'missing' else err['msg']}"
                        for err in exc.errors(include_url=False)]
            raise KindConfigError(f"invalid configuration for the {self.name} kind: " + "; ".join(problems)) from None

    def settings_from_environment(self, environ: Mapping[str, str] | None = None) -> InstanceSettings:
        """`read_settings` for a process's start: exits with the message, like `config.load_settings`."""
        try:
            return self.read_settings(environ)
        except KindConfigError as exc:
            print(str(exc).replace(": ", ":\n  ", 1).replace("; ", "\n  "), file=sys.stderr)
            raise SystemExit(2) from None

    def credentials_from(self, stored) -> BaseModel | None:
        """The integration's stored credentials (`RuntimeSettings.credentials`, a pydantic `Secret`, or a
        dict) as this kind's model; None when none are stored. `KindConfigError` naming the fields (never a
        value) when they do not fit the model."""
        if stored is None or self.credentials is None:
            return None
        try:
            return self.credentials.model_validate(stored.get_secret_value() if hasattr(stored, "get_secret_value")
                                                   else stored)
        except ValidationError as exc:
            fields = sorted({".".join(map(str, err["loc"])) for err in exc.errors(include_url=False) if err["loc"]})
            rule = next((err["msg"] for err in exc.errors(include_url=False) if not err["loc"]), "")
            raise KindConfigError(f"the stored {self.name} credentials are not valid: "
                                  + (f"check {', '.join(fields)}" if fields else rule)) from None

    def required_credentials(self, stored) -> BaseModel:
        """`credentials_from` for a kind that cannot work without them: `KindConfigError` when none are stored."""
        credentials = self.credentials_from(stored)
        if credentials is None:
            fields = ", ".join(self.credentials.model_fields) if self.credentials else "none"
            raise KindConfigError(f"no {self.name} credentials are stored for this integration (set them in the "
                                  f"manager; the kind's fields: {fields})")
        return credentials

    def processes(self, integration_name: str, api_port: int, probe_port: int, host: str,
                  settings: Mapping) -> list[ProcessSpec]:
        env = {**self.environment(settings), "HUB_KIND": self.name, "HUB_PROBE_PORT": str(probe_port),
               "HUB_HOST": host}
        return [
            ProcessSpec("api", [self.api, str(api_port), integration_name, "--host", host], env, "/alive"),
            ProcessSpec("worker", [self.worker, integration_name], env, "/alive"),
        ]

    def describe(self) -> dict:
        """What `GET /kinds` shows of the kind: the JSON schemas the GUI draws its forms from."""
        return {"name": self.name, "description": self.description, "programs": list(self.programs),
                "settings_schema": self.settings.model_json_schema(),
                "credentials_schema": self.credentials.model_json_schema() if self.credentials else None,
                "environment": {name: self.env_name(name) for name in self.settings.model_fields}}


def _env_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise TypeError(f"a kind's settings must be scalar to become environment variables, not {type(value).__name__}")


def plugin_names(group: str) -> list[str]:
    """The names installed under an entry-point group, without importing them."""
    return sorted({ep.name for ep in entry_points(group=group)})


def load_plugin(group: str, name: str):
    """The object an entry point names; LookupError naming the installed ones when there is none."""
    found: list[EntryPoint] = [ep for ep in entry_points(group=group) if ep.name == name]
    if not found:
        raise LookupError(f"{name!r} is not installed (in {group}: {', '.join(plugin_names(group)) or 'nothing'})")
    return found[0].load()


@cache
def installed_kinds() -> dict[str, Kind]:
    """Every kind installed in this Python environment, by name (loaded once per process)."""
    kinds = {}
    for name in plugin_names(KINDS_GROUP):
        kind = load_plugin(KINDS_GROUP, name)
        if not isinstance(kind, Kind) or kind.name != name:
            raise TypeError(f"the {KINDS_GROUP} entry point {name!r} must name a Kind called {name!r}")
        if not issubclass(kind.settings, InstanceSettings):
            raise TypeError(f"kind {name!r}: its settings model must subclass hub_runtime.kinds.InstanceSettings")
        kinds[name] = kind
    return kinds
