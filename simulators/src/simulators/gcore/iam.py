"""Gcore IAM (`/iam/auth/jwt/login`, `/iam/auth/jwt/refresh`) and the authentication of billing calls,
with iam_api.yaml's bodies: `{"access", "refresh"}` on success; 400 `{"errors": {field: [...]}}` for a bad
body or wrong credentials, `{"message": "JSON parse error - ..."}` for bad JSON; 401 for a refresh token
that is invalid, expired or already used, with simplejwt's `{"detail", "code"}`."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from .accounts import AuthError, LoginFailed, User
from .context import json_body, sim

iam = Blueprint("gcore_iam", __name__, url_prefix="/iam")

NO_ACTIVE_ACCOUNT = "No active account found with the given credentials."


def _validation_error(errors: dict[str, list[str]]) -> tuple[Response, int]:
    return jsonify(errors=errors), 400


def _fields(body: object, names: tuple[str, ...], required_message: str) -> tuple[dict[str, str], dict[str, list]]:
    """The string fields `names` of a JSON object body, and the validation errors."""
    if not isinstance(body, dict):
        kind = "list" if isinstance(body, list) else type(body).__name__
        return {}, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}
    values, errors = {}, {}
    for name in names:
        value = body.get(name)
        if value is None or value == "":
            errors[name] = [required_message if value is None else "This field may not be blank."]
        elif not isinstance(value, str):
            errors[name] = ["Not a valid string."]
        else:
            values[name] = value
    return values, errors


@iam.post("/auth/jwt/login")
def login() -> tuple[Response, int]:
    ctx = sim()
    body, parse_error = json_body()
    if parse_error:
        ctx.counters.count("failed_logins")
        return jsonify(message=parse_error), 400
    values, errors = _fields(body, ("username", "password"), "This field is required")
    if errors:
        ctx.counters.count("failed_logins")
        return _validation_error(errors)
    try:
        pair = ctx.accounts.login(values["username"], values["password"])
    except LoginFailed:
        ctx.counters.count("failed_logins")
        return _validation_error({"errors": [NO_ACTIVE_ACCOUNT]})
    ctx.counters.count("logins")
    return jsonify(pair), 200


@iam.post("/auth/jwt/refresh")
def refresh() -> tuple[Response, int]:
    ctx = sim()
    body, parse_error = json_body()
    if parse_error:
        ctx.counters.count("failed_refreshes")
        return jsonify(message=parse_error), 400
    values, errors = _fields(body, ("refresh",), "This field is required.")
    if errors:
        ctx.counters.count("failed_refreshes")
        return _validation_error(errors)
    try:
        pair = ctx.accounts.refresh(values["refresh"])
    except AuthError as exc:
        ctx.counters.count("failed_refreshes")
        return unauthorized(exc)
    ctx.counters.count("refreshes")
    return jsonify(pair), 200


def unauthorized(exc: AuthError) -> tuple[Response, int]:
    """401 as simplejwt / DRF answer it: `detail`, and `code` (+ `messages`) for token errors."""
    body: dict = {"detail": exc.detail}
    if exc.code:
        body["code"] = exc.code
    if exc.token_message:
        body["messages"] = [{"token_class": "AccessToken", "token_type": "access", "message": exc.token_message}]
    response = jsonify(body)
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response, 401


def authenticate() -> tuple[Response, int] | None:
    """Before every billing call: `g.user` from the Authorization header, or the 401 answer."""
    ctx = sim()
    try:
        g.user = ctx.accounts.user_for_header(request.headers.get("Authorization"))
    except AuthError as exc:
        ctx.counters.count("unauthorized")
        return unauthorized(exc)
    return None


def current_user() -> User:
    return g.user
