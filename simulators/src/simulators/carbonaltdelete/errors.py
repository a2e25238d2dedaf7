"""The real API's error shapes, copied rather than tidied.

The backend is a FastAPI application: its errors are `{"detail": "..."}` with the HTTP status, and request
validation fails with 422 and `{"detail": [{"type", "loc", "msg", "input"[, "ctx"]}]}` (pydantic 2), where
`loc` starts with `body`, `query` or `path`. Fields are checked as the backend's models declare them:
camelCase JSON keys, UUIDs, the enums' exact values. Unhandled server errors are Starlette's plain-text
`Internal Server Error`; Heroku's router answers 502/503/504 with an HTML page.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from flask import Response

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}

_HEROKU_PAGE = ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Application Error</title>\n"
                "</head>\n<body>\n<iframe src=\"//www.herokucdn.com/error-pages/application-error.html\"></iframe>\n"
                "</body>\n</html>\n")


class ApiError(Exception):
    """An answer in the API's `{"detail": ...}` shape."""

    def __init__(self, status: int, detail: str | list, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}

    def response(self) -> Response:
        body = json.dumps({"detail": self.detail}, separators=(",", ":"))
        return Response(body, self.status, headers=self.headers, mimetype="application/json")


def unauthorized(detail: str = "Could not validate credentials") -> ApiError:
    return ApiError(401, detail, BEARER_CHALLENGE)


def server_error(status: int) -> Response:
    """An injected 5xx (or other) failure as the real service would show it."""
    if status in (502, 503, 504):  # from Heroku's router, before the app
        response = Response(_HEROKU_PAGE, status, mimetype="text/html")
        if status == 503:
            response.headers["Retry-After"] = "1"
        return response
    if status >= 500:
        return Response("Internal Server Error", status, mimetype="text/plain")
    if status == 429:
        return Response(json.dumps({"detail": "Too Many Requests"}), status, mimetype="application/json",
                        headers={"Retry-After": "1"})
    return ApiError(status, "Simulated failure").response()


# --- request validation (422) -------------------------------------------------------------------------


class Validator:
    """Collects 422 items like pydantic does; `check()` raises them all at once."""

    def __init__(self) -> None:
        self.errors: list[dict] = []

    def fail(self, kind: str, loc: Iterable, msg: str, value: object, ctx: dict | None = None) -> None:
        item = {"type": kind, "loc": list(loc), "msg": msg, "input": value}
        if ctx:
            item["ctx"] = ctx
        self.errors.append(item)

    def check(self) -> None:
        if self.errors:
            raise ApiError(422, self.errors)

    def required(self, source: dict, where: str, name: str, whole: object) -> object:
        if name not in source:
            self.fail("missing", (where, name), "Field required", whole)
            return None
        return source[name]

    def string(self, source: dict, where: str, name: str, whole: object) -> str | None:
        value = self.required(source, where, name, whole)
        if name in source and not isinstance(value, str):
            self.fail("string_type", (where, name), "Input should be a valid string", value)
            return None
        return value

    def uuid(self, value: object, loc: tuple) -> str | None:
        if not isinstance(value, str):
            self.fail("uuid_type", loc, "UUID input should be a string, bytes or UUID object", value)
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            self.fail("uuid_parsing", loc, "Input should be a valid UUID, invalid length or character", value,
                      {"error": "invalid UUID"})
            return None

    def uuid_field(self, source: dict, where: str, name: str, whole: object) -> str | None:
        value = self.required(source, where, name, whole)
        return self.uuid(value, (where, name)) if name in source else None

    def enum(self, source: dict, where: str, name: str, whole: object, choices: Iterable[str]) -> str | None:
        value = self.required(source, where, name, whole)
        if name not in source:
            return None
        choices = list(choices)
        if value not in choices:
            expected = " or ".join((", ".join(f"'{c}'" for c in choices[:-1]), f"'{choices[-1]}'"))
            self.fail("enum", (where, name), f"Input should be {expected}", value, {"expected": expected})
            return None
        return value


def json_body(raw: bytes, content_type: str) -> dict:
    """The JSON object body a FastAPI model parameter wants, or the 422 it would answer."""
    if not raw:
        raise ApiError(422, [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
    text = raw.decode("utf-8", "replace")
    if "json" not in content_type.lower():  # FastAPI does not parse other bodies as JSON
        raise ApiError(422, [{"type": "model_attributes_type", "loc": ["body"],
                              "msg": "Input should be a valid dictionary or object to extract fields from",
                              "input": text}])
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise ApiError(422, [{"type": "json_invalid", "loc": ["body", getattr(exc, "pos", 0)],
                              "msg": "JSON decode error", "input": {},
                              "ctx": {"error": getattr(exc, "msg", str(exc))}}]) from None
    if not isinstance(body, dict):
        raise ApiError(422, [{"type": "model_attributes_type", "loc": ["body"],
                              "msg": "Input should be a valid dictionary or object to extract fields from",
                              "input": body}])
    return body
