"""POST /api/auth/register/, /login/, /refresh/ and GET /api/auth/logout/ (the answers of the service it replaces)."""

from __future__ import annotations

from flask import g, jsonify, request

from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody, OpenAPI

from ..auth import Auth, AuthError, Tokens
from .schemas import Login, Message, Refresh, RefreshedOut, Register, TokensOut


def bearer_user(auth: Auth):
    """The `user_auth` of report-api's OpenAPI: a valid access token of a live login, or 401."""

    def check() -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <access token> (from /api/auth/login/)")
        try:
            g.principal = auth.authenticate(token.strip())
        except AuthError as exc:
            raise api_error(exc) from None

    return check


def api_error(exc: AuthError) -> ApiError:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return ApiError(exc.status, exc.code, exc.message, headers=headers)


def _tokens(tokens: Tokens, full_user: bool) -> dict:
    user = {"id": tokens.user.id, "email": tokens.user.email, "name": tokens.user.name,
            "phone_number": tokens.user.phone_number}
    if not full_user:
        user = {"id": user["id"], "email": user["email"], "name": user["name"]}
    return {"user": user, "access": tokens.access, "refresh": tokens.refresh}


def auth_blueprint(auth: Auth, api: OpenAPI) -> APIBlueprint:
    bp = APIBlueprint("auth", __name__)
    tag = "users"

    @api.operation(bp, "/api/auth/register/", "POST", body=Register, auth="none", tag=tag,
                   responses={201: TokensOut, 400: ErrorBody, 409: ErrorBody},
                   summary="create a user; answers with its tokens")
    def register(body: Register):
        try:
            tokens = auth.register(body.email, body.name, body.password, body.phone_number)
        except AuthError as exc:
            raise api_error(exc) from None
        return jsonify(_tokens(tokens, full_user=True)), 201

    @api.operation(bp, "/api/auth/login/", "POST", body=Login, auth="none", tag=tag,
                   responses={200: TokensOut, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody},
                   summary="log in with email and password (failed attempts are rate-limited)")
    def login(body: Login):
        try:
            tokens = auth.login(body.email, body.password, request.remote_addr or "?")
        except AuthError as exc:
            raise api_error(exc) from None
        return jsonify(_tokens(tokens, full_user=False))

    @api.operation(bp, "/api/auth/refresh/", "POST", body=Refresh, auth="none", tag=tag,
                   responses={200: RefreshedOut, 400: ErrorBody, 401: ErrorBody},
                   summary="a new access token and refresh token for a refresh token (each refresh token works once)")
    def refresh(body: Refresh):
        try:
            access, new_refresh = auth.refresh(body.refresh)
        except AuthError as exc:
            raise api_error(exc) from None
        return jsonify(access=access, refresh=new_refresh)

    @api.operation(bp, "/api/auth/logout/", "GET", auth="user", tag=tag, responses={200: Message},
                   summary="end this login: its access and refresh tokens stop working")
    def logout():
        auth.logout(g.principal)
        return jsonify(message="Successfully logged out.")

    return bp
