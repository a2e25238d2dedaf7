"""Routes declared once with their pydantic models, on flask-openapi3's `APIBlueprint`: the models validate
requests here, and flask-openapi3 makes the OpenAPI document from them, so the document cannot drift from
the code.

    @api.operation(bp, "/create", "POST", body=CreateOrder, responses={200: OrderAccepted})
    def create(body: CreateOrder): ...

Each operation names how callers authenticate (`auth`), which is checked before the request is validated
and documented as the operation's security scheme:
- `"token"` (default): the instance's bearer token (`HUB_API_TOKEN`, scheme `bearerAuth`), checked by the
  `token_auth` callable the app factory gives the `OpenAPI`;
- `"user"`: a user's access token (scheme `userAuth`), checked by the `user_auth` callable the service gives
  its `OpenAPI` before the view runs (report-api's JWTs);
- `"none"`: public (probes, documentation).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import request
from flask_openapi3 import APIBlueprint, FileStorage, Info, Tag
from flask_openapi3.utils import parse_body, parse_rule
from pydantic import BaseModel, Field, ValidationError, create_model

from .errors import ApiError, validation_error

__all__ = ["APIBlueprint", "ErrorBody", "ErrorDetail", "OpenAPI", "parse_model"]

SECURITY_SCHEMES = {  # auth -> (OpenAPI security scheme name, its definition)
    "token": ("bearerAuth", {"type": "http", "scheme": "bearer", "description": "the instance's API token"}),
    "user": ("userAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                          "description": "a user's access token from /api/auth/login/"}),
}
AUTH = (*SECURITY_SCHEMES, "none")


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorBody(BaseModel):
    """Every error answer: `{"error": {"code", "message", "fields"?}}`."""

    error: ErrorDetail


def _no_token_auth() -> None:
    raise RuntimeError("OpenAPI.token_auth is not set: build the app with hub_runtime.web.app_factory")


@dataclass
class OpenAPI:
    """One API's routes and what its document says about it; the app factory builds the app from it."""

    title: str
    version: str = "1.0.0"
    description: str = ""
    user_auth: Callable[[], None] | None = None  # raises ApiError(401) unless a valid user token came
    token_auth: Callable[[], None] = _no_token_auth  # the app factory sets the instance token's check

    def info(self) -> Info:
        described = {"description": self.description} if self.description else {}
        return Info(title=self.title, version=self.version, **described)

    def security_schemes(self) -> dict[str, dict]:
        used = ("token", "user") if self.user_auth is not None else ("token",)
        return dict(SECURITY_SCHEMES[auth] for auth in used)

    def operation(self, bp: APIBlueprint, rule: str, method: str, *, summary: str = "",
                  body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
                  responses: dict[int, type[BaseModel] | None] | None = None, auth: str = "token",
                  tag: str = "service", form: type[BaseModel] | None = None, files: tuple[str, ...] = ()):
        """Register a view on `bp`; it receives its path parameters, and `body=` / `query=` already
        validated (400 otherwise).

        `form` and `files` only describe a request the view reads itself (a multipart upload it streams to
        disk): a `multipart/form-data` body with these file parts and the form model's fields, and, when
        there is a `form`, the same model as an `application/json` body."""
        if auth not in AUTH:
            raise ValueError(f"auth must be one of {', '.join(AUTH)}")
        if auth == "user" and self.user_auth is None:
            raise ValueError("auth='user' needs OpenAPI(user_auth=...)")
        check = {"token": lambda: self.token_auth(), "user": lambda: self.user_auth()}.get(auth)
        documented = dict(responses or {200: None})
        if body is not None or query is not None or form is not None or files:
            documented.setdefault(400, ErrorBody)
        if check is not None:
            documented.setdefault(401, ErrorBody)
        documented["default"] = ErrorBody  # any other error answer (404, 405, 500...) has the same shape

        def decorate(view):
            @functools.wraps(view)
            def wrapper(**kwargs):
                if check is not None:
                    check()
                if body is not None:
                    kwargs["body"] = parse_model(body, _json_body(), "body")
                if query is not None:
                    kwargs["query"] = parse_model(query, request.args.to_dict(), "query")
                return view(**kwargs)

            # what flask-openapi3 documents: the annotated request parts; it validates none of them itself
            # (the mark of its `validate_request`: the view validates its own request, after the auth check)
            wrapper.__annotations__ = _documented_parts(view.__name__, rule, body, query, form, files)
            wrapper.__delay_validate_request__ = True
            security = [{SECURITY_SCHEMES[auth][0]: []}] if check is not None else None
            register = getattr(bp, method.lower())
            register(rule, summary=summary or None, tags=[Tag(name=tag)], responses=documented,
                     security=security)(wrapper)
            if form is not None:
                _also_as_json(bp, rule, method, form)
            return wrapper

        return decorate


def _documented_parts(name: str, rule: str, body, query, form, files) -> dict:
    parts = {}
    params = re.findall(r"<(?:\w+:)?(\w+)>", rule)
    if params:
        parts["path"] = create_model(f"{_camel(name)}Path", **{p: (str, ...) for p in params})
    if body is not None:
        parts["body"] = body
    if query is not None:
        parts["query"] = query
    if form is not None or files:
        parts["form"] = create_model(f"{_camel(name)}Form", __base__=form or BaseModel,
                                     **{f: (FileStorage, _OPTIONAL_PART) for f in files})
    return parts


# a file part the request may leave out (the model only documents: it validates nothing, so no default is shown)
_OPTIONAL_PART = Field(None, json_schema_extra=lambda schema: schema.pop("default"))


def _also_as_json(bp: APIBlueprint, rule: str, method: str, form: type[BaseModel]) -> None:
    """The form's fields may come as a JSON body too; the body is needed only if the form has required fields."""
    operation = getattr(bp.paths[parse_rule(rule, url_prefix=bp.url_prefix)], method.lower())
    content, schemas = parse_body(form)
    operation.requestBody.content.update(content)
    operation.requestBody.required = bool(form.model_json_schema().get("required"))
    bp.components_schemas.update(schemas)


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


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
