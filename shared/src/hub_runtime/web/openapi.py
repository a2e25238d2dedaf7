"""Routes declared once with their pydantic models: the models validate requests and make the OpenAPI
document, so the document cannot drift from the code.

    @api.operation(bp, "/create", "POST", body=CreateOrder, responses={200: OrderAccepted})
    def create(body: CreateOrder): ...

Each operation names how callers authenticate (`auth`):
- `"token"` (default): the instance's bearer token (`HUB_API_TOKEN`), checked by the `token_auth` callable
  the app factory gives the `OpenAPI`;
- `"user"`: a user's access token, checked by the `user_auth` callable the service gives its `OpenAPI`
  before the view runs (report-api's JWTs);
- `"none"`: public (probes, documentation).
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, request
from pydantic import BaseModel, ValidationError

from .errors import ApiError, validation_error

AUTH_SCHEMES = {"token": "bearer", "user": "user", "none": None}  # auth -> OpenAPI security scheme


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def _no_token_auth() -> None:
    raise RuntimeError("OpenAPI.token_auth is not set: build the app with hub_runtime.web.app_factory")


@dataclass
class Operation:
    rule: str
    method: str
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: dict[int, type[BaseModel] | None]
    auth: str
    tag: str
    form: type[BaseModel] | None = None
    files: tuple[str, ...] = ()


@dataclass
class OpenAPI:
    title: str
    version: str = "1.0.0"
    description: str = ""
    user_auth: Callable[[], None] | None = None  # raises ApiError(401) unless a valid user token came
    token_auth: Callable[[], None] = _no_token_auth  # the app factory sets the instance token's check
    operations: list[Operation] = field(default_factory=list)

    def operation(self, bp: Blueprint, rule: str, method: str, *, summary: str = "",
                  body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
                  responses: dict[int, type[BaseModel] | None] | None = None, auth: str = "token",
                  tag: str = "service", form: type[BaseModel] | None = None, files: tuple[str, ...] = ()):
        """Register a view on `bp`; it receives `body=` / `query=` already validated (400 otherwise).

        `form` and `files` only describe a request the view reads itself (a multipart upload it streams to
        disk): a `multipart/form-data` body with these file parts and the form model's fields, and, when
        there is a `form`, the same model as an `application/json` body."""
        if auth not in AUTH_SCHEMES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_SCHEMES)}")
        if auth == "user" and self.user_auth is None:
            raise ValueError("auth='user' needs OpenAPI(user_auth=...)")
        responses = responses or {200: None}

        def decorate(view):
            @functools.wraps(view)
            def wrapper(**kwargs):
                if auth == "token":
                    self.token_auth()
                elif auth == "user":
                    self.user_auth()
                if body is not None:
                    kwargs["body"] = parse_model(body, _json_body(), "body")
                if query is not None:
                    kwargs["query"] = parse_model(query, request.args.to_dict(), "query")
                return view(**kwargs)

            bp.add_url_rule(rule, view_func=wrapper, methods=[method])
            self.operations.append(Operation(rule, method.upper(), summary or (view.__doc__ or "").strip(),
                                             body, query, responses, auth, tag, form, tuple(files)))
            return wrapper

        return decorate

    def document(self) -> dict:
        schemas: dict[str, dict] = {"ErrorBody": _schema(ErrorBody, {})}
        paths: dict[str, dict] = {}
        for op in self.operations:
            entry: dict = {"summary": op.summary, "tags": [op.tag], "responses": {}}
            if op.auth != "none":
                entry["security"] = [{AUTH_SCHEMES[op.auth]: []}]
            if op.body is not None:
                entry["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": _ref(op.body, schemas)}}}
            elif op.form is not None or op.files:
                entry["requestBody"] = _upload_body(op, schemas)
            if op.query is not None:
                required = op.query.model_json_schema().get("required", [])
                entry["parameters"] = [
                    {"name": name, "in": "query", "required": name in required,
                     "schema": {k: v for k, v in prop.items() if k != "title"}}
                    for name, prop in op.query.model_json_schema()["properties"].items()
                ]
            for status, model in op.responses.items():
                described = {"description": _STATUS_TEXT.get(status, "answer")}
                if model is not None:
                    described["content"] = {"application/json": {"schema": _ref(model, schemas)}}
                entry["responses"][str(status)] = described
            if op.auth != "none":
                entry["responses"].setdefault("401", {"description": "missing or wrong bearer token",
                                                      "content": {"application/json": {
                                                          "schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
            if op.body is not None or op.query is not None or "requestBody" in entry:
                entry["responses"].setdefault("400", {"description": "invalid request", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
            path = _openapi_path(op.rule)
            paths.setdefault(path, {})[op.method.lower()] = entry
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version, "description": self.description},
            "paths": paths,
            "components": {"schemas": schemas,
                           "securitySchemes": {
                               "bearer": {"type": "http", "scheme": "bearer", "description": "the instance token"},
                               "user": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                        "description": "a user's access token from /api/auth/login/"}}},
        }

    def docs_page(self) -> str:
        """A self-contained HTML page listing every operation and its schemas (no CDN needed)."""
        doc = self.document()
        rows = []
        for path, methods in doc["paths"].items():
            for method, op in methods.items():
                lock = "" if "security" not in op else " &#128274;"
                codes = ", ".join(op["responses"])
                rows.append(f"<tr><td><b>{method.upper()}</b></td><td><code>{html.escape(path)}</code>{lock}"
                            f"</td><td>{html.escape(op['summary'])}</td><td>{codes}</td></tr>")
        schemas = html.escape(json.dumps(doc["components"]["schemas"], indent=2))
        return _DOCS_TEMPLATE.format(title=html.escape(self.title), rows="\n".join(rows), schemas=schemas)


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid_json", "the request body must be a JSON object "
                       "(Content-Type: application/json)")
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return data


def parse_model(model: type[BaseModel], data: dict, where: str) -> BaseModel:
    """`data` validated by `model`, or a 400 naming each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, where) from None


def _schema(model: type[BaseModel], schemas: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    return schema


def _ref(model: type[BaseModel], schemas: dict) -> dict:
    if model.__name__ not in schemas:
        schemas[model.__name__] = _schema(model, schemas)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _upload_body(op: Operation, schemas: dict) -> dict:
    """The request body of an operation that takes files (multipart) or, without files, its form as JSON."""
    content: dict = {}
    form: dict = {"type": "object", "properties": {}}
    if op.form is not None:
        content["application/json"] = {"schema": _ref(op.form, schemas)}
        form = schemas[op.form.__name__]
    parts = {name: {"type": "string", "contentMediaType": "application/octet-stream"} for name in op.files}
    multipart = {**form, "properties": {**form["properties"], **parts}}
    multipart.pop("title", None)
    content = {"multipart/form-data": {"schema": multipart}, **content}
    # a form with required fields needs a body; so does an upload without a form (its parts are alternatives)
    required = bool(form.get("required")) or op.form is None
    return {"required": required, "content": content}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


_STATUS_TEXT = {200: "OK", 201: "created", 202: "accepted", 400: "invalid request", 401: "unauthorized",
                404: "not found", 409: "conflict", 410: "gone", 413: "too large", 429: "too many requests",
                503: "unavailable"}

_DOCS_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 10px;text-align:left}}
tr:nth-child(even){{background:#f4f4f4}}pre{{background:#f8f8f8;padding:1em;overflow:auto}}</style>
</head><body><h1>{title}</h1>
<p>Machine-readable document: <a href="openapi.json">openapi.json</a>. &#128274; = needs
<code>Authorization: Bearer &lt;token&gt;</code>.</p>
<table><tr><th>method</th><th>path</th><th>summary</th><th>responses</th></tr>
{rows}
</table><h2>Schemas</h2><pre>{schemas}</pre></body></html>
"""
