"""The integration registry: create, change, activate and read integrations, with their history.
Credentials and API tokens are stored encrypted and never leave through a view."""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub_runtime.db import transaction
from hub_runtime.kinds import Kind, installed_kinds
from hub_runtime.models import utcnow
from hub_runtime.runtime import slugify
from hub_runtime.secrets import SecretBox

from .models import Integration, IntegrationEvent


class RegistryError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


@dataclass(frozen=True)
class IntegrationView:
    id: str
    kind: str
    name: str
    settings: dict
    has_credentials: bool
    active: bool
    api_port: int
    probe_port: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Integration) -> IntegrationView:
        return cls(row.id, row.kind, row.name, dict(row.settings), row.credentials is not None, row.active,
                   row.api_port, row.probe_port, row.created_at, row.updated_at)


class Registry:
    def __init__(self, sessions: sessionmaker[Session], box: SecretBox, port_range: tuple[int, int]):
        self.sessions = sessions
        self.box = box
        self.port_range = port_range

    # --- reading ------------------------------------------------------------------------------------
    def list(self) -> list[IntegrationView]:
        with self.sessions() as session:
            return [IntegrationView.of(r) for r in session.scalars(select(Integration).order_by(Integration.id))]

    def get(self, integration_id: str) -> IntegrationView:
        with self.sessions() as session:
            return IntegrationView.of(self._row(session, integration_id))

    def token(self, integration_id: str) -> str:
        with self.sessions() as session:
            return self.box.decrypt(self._row(session, integration_id).api_token)["token"]

    def credentials(self, integration_id: str) -> dict | None:
        with self.sessions() as session:
            row = self._row(session, integration_id)
            return self.box.decrypt(row.credentials) if row.credentials else None

    def runnable_settings(self, view: IntegrationView) -> dict:
        """The stored settings, checked again against the installed kind (an ERP adapter may have been
        uninstalled, or a new required setting added, since they were saved): 409 naming each field."""
        try:
            return _validated(self.kind(view.kind).settings, view.settings, "settings")
        except RegistryError as exc:
            raise RegistryError(409, "stored_settings_invalid", f"{view.id} cannot start: its stored settings do "
                                f"not fit the installed {view.kind} kind; change them (PATCH). {exc.message}",
                                exc.fields) from None

    def events(self, integration_id: str, limit: int = 200) -> list[tuple[str, str | None, datetime]]:
        with self.sessions() as session:
            self._row(session, integration_id)
            rows = session.scalars(select(IntegrationEvent).where(IntegrationEvent.integration_id == integration_id)
                                   .order_by(IntegrationEvent.id.desc()).limit(limit))
            return [(e.event, e.detail, e.at) for e in rows]

    # --- changing -----------------------------------------------------------------------------------
    def create(self, kind: str, name: str, settings: dict, credentials: dict | None, active: bool,
               api_port: int | None = None) -> tuple[IntegrationView, str]:
        """Returns the new integration and its API token (the only time the token is shown)."""
        spec = self.kind(kind)
        settings = _validated(spec.settings, settings, "settings")
        creds = self._credentials(spec, credentials)
        try:
            integration_id = f"{kind}-{slugify(name)}"
        except ValueError as exc:
            raise RegistryError(400, "invalid_request", str(exc), {"name": "needs letters or digits"}) from None
        token = random_secrets.token_urlsafe(24)
        for _ in range(5):  # two creations racing for the same free port: try the next one
            try:
                with transaction(self.sessions) as session:
                    if session.get(Integration, integration_id) is not None:
                        raise RegistryError(409, "integration_exists", f"integration {integration_id} exists",
                                            {"name": f"{kind} {name!r} is already registered"})
                    ports = self._free_ports(session, 1 if api_port else 2)
                    row = Integration(id=integration_id, kind=kind, name=name, settings=settings,
                                      credentials=creds, api_token=self.box.encrypt({"token": token}),
                                      active=active, api_port=api_port or ports.pop(0), probe_port=ports.pop(0))
                    session.add(row)
                    session.flush()
                    session.add(IntegrationEvent(integration_id=integration_id, event="created",
                                                 detail=f"active={active} api_port={row.api_port}"))
                    view = IntegrationView.of(row)
                return view, token
            except IntegrityError:
                if api_port and self._port_taken(api_port):
                    raise RegistryError(409, "port_in_use", f"port {api_port} is used by another integration",
                                        {"api_port": "in use"}) from None
        raise RegistryError(503, "no_free_port", "could not allocate ports; try again")

    def update(self, integration_id: str, settings: dict | None, credentials: dict | None) -> IntegrationView:
        with transaction(self.sessions) as session:
            row = self._row(session, integration_id)
            spec = self.kind(row.kind)
            changed = []
            if settings is not None:
                row.settings = _validated(spec.settings, {**row.settings, **settings}, "settings")
                changed.append("settings")
            if credentials is not None:
                row.credentials = self._credentials(spec, credentials)
                changed.append("credentials")
            row.updated_at = utcnow()
            session.add(IntegrationEvent(integration_id=integration_id, event="updated",
                                         detail=", ".join(changed) or "nothing"))
            return IntegrationView.of(row)

    def set_active(self, integration_id: str, active: bool) -> IntegrationView:
        with transaction(self.sessions) as session:
            row = self._row(session, integration_id)
            row.active, row.updated_at = active, utcnow()
            session.add(IntegrationEvent(integration_id=integration_id,
                                         event="activated" if active else "deactivated"))
            return IntegrationView.of(row)

    def rotate_token(self, integration_id: str) -> str:
        token = random_secrets.token_urlsafe(24)
        with transaction(self.sessions) as session:
            row = self._row(session, integration_id)
            row.api_token, row.updated_at = self.box.encrypt({"token": token}), utcnow()
            session.add(IntegrationEvent(integration_id=integration_id, event="token_rotated"))
        return token

    def rotate_encryption(self) -> int:
        """Re-encrypt every stored secret under the newest key (after adding one to HUB_SECRET_KEYS)."""
        with transaction(self.sessions) as session:
            rows = session.scalars(select(Integration)).all()
            for row in rows:
                row.api_token = self.box.rotate(row.api_token)
                if row.credentials:
                    row.credentials = self.box.rotate(row.credentials)
            return len(rows)

    def delete(self, integration_id: str) -> None:
        with transaction(self.sessions) as session:
            session.delete(self._row(session, integration_id))

    def record(self, integration_id: str, event: str, detail: str | None = None) -> None:
        """A state transition seen by the supervisor (started, exited, restarted, failed...)."""
        with transaction(self.sessions) as session:
            session.add(IntegrationEvent(integration_id=integration_id, event=event,
                                         detail=detail[:2000] if detail else None))

    # --- helpers ------------------------------------------------------------------------------------
    @staticmethod
    def _row(session: Session, integration_id: str) -> Integration:
        row = session.get(Integration, integration_id)
        if row is None:
            raise RegistryError(404, "integration_not_found", f"no integration {integration_id!r}")
        return row

    @staticmethod
    def kind(kind: str) -> Kind:
        """The installed kind of this name; 400 naming the installed ones."""
        kinds = installed_kinds()
        if kind not in kinds:
            raise RegistryError(400, "invalid_request", f"unknown kind {kind!r}",
                                {"kind": f"one of the installed kinds: {', '.join(sorted(kinds))}"})
        return kinds[kind]

    def _credentials(self, spec: Kind, credentials: dict | None) -> str | None:
        if credentials is None:
            return None
        if spec.credentials is None:
            raise RegistryError(400, "invalid_request", f"{spec.name} integrations take no credentials",
                                {"credentials": "not accepted for this kind"})
        return self.box.encrypt(_validated(spec.credentials, credentials, "credentials"))

    def _free_ports(self, session: Session, count: int) -> list[int]:
        used = {p for pair in session.execute(select(Integration.api_port, Integration.probe_port)) for p in pair}
        free = [p for p in range(self.port_range[0], self.port_range[1] + 1) if p not in used]
        if len(free) < count:
            raise RegistryError(409, "no_free_port", "the instance port range is used up")
        return free[:count]

    def _port_taken(self, port: int) -> bool:
        with self.sessions() as session:
            return session.scalar(select(Integration.id).where(
                (Integration.api_port == port) | (Integration.probe_port == port))) is not None


def _validated(model: type[BaseModel], data: dict, where: str) -> dict:
    """The data as the model validates it, with secret fields (SecretStr...) as their values: what is stored
    must be the secret, not pydantic's mask of it."""
    try:
        dumped = model.model_validate(data).model_dump()
        return {k: v.get_secret_value() if hasattr(v, "get_secret_value") else v for k, v in dumped.items()}
    except ValidationError as exc:
        fields = {f"{where}.{'.'.join(str(p) for p in e['loc'])}": "is required" if e["type"] == "missing"
                  else e["msg"] for e in exc.errors(include_input=False, include_url=False)}
        raise RegistryError(400, "invalid_request", f"invalid {where}: " + ", ".join(fields), fields) from None
