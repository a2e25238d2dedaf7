"""Login with Amazon's token endpoint, `POST /auth/o2/token`: a form (as LWA documents it) or a JSON body
(as some SDKs send it) with grant_type, refresh_token, client_id, client_secret."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .accounts import LwaError
from .context import sim

lwa = Blueprint("spapi_lwa", __name__)


def _fields() -> dict[str, str]:
    if request.is_json:
        body = request.get_json(silent=True)
        return {k: v for k, v in body.items() if isinstance(v, str)} if isinstance(body, dict) else {}
    return request.form.to_dict()


@lwa.post("/auth/o2/token")
def token() -> tuple[Response, int]:
    ctx = sim()
    try:
        answer = ctx.accounts.grant(_fields())
    except LwaError as exc:
        ctx.count("lwa_refused")
        return jsonify(error_description=exc.description, error=exc.error), exc.status
    ctx.count("lwa_tokens_issued")
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response, 200
