"""The seed's connection endpoints. The seller's credentials live in the manager (stored per integration,
handed to the instance in its secrets file): `connect` checks them with Amazon and records the connection;
a body naming other credentials is refused, since the instance cannot store them. No answer carries an
access token: the instance keeps it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import jsonify

from hub_runtime.errors import PermanentError
from hub_runtime.tasks import iso
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody, OpenAPI

from ..connection import ConnectionState
from ..kind import AmazonCredentials
from ..spapi.lwa import shared_tokens
from .schemas import Credentials
from .upstream import upstream_errors


def connection_blueprint(service, api: OpenAPI) -> APIBlueprint:
    bp = APIBlueprint("connection", __name__, url_prefix="/api")
    state = ConnectionState(service.runtime.sessions, service.runtime.instance.id)
    errors = {400: ErrorBody, 409: ErrorBody, 502: ErrorBody}

    def stored() -> AmazonCredentials:
        try:
            return service.stored_credentials()
        except PermanentError as exc:
            raise ApiError(400, exc.reason_code, exc.reason_text) from None

    def exchange(credentials: AmazonCredentials, refresh: bool = False) -> dict:
        """An LWA exchange: a check (`refresh` False), or a new access token for the process's cache."""
        with upstream_errors("Login with Amazon"):
            if refresh:
                tokens = shared_tokens(service.amazon)
                tokens.invalidate(credentials)
                token = tokens.get(credentials)
            else:
                token = service.client(credentials=credentials).check_credentials()
        expires = datetime.fromtimestamp(token.expires_at, UTC).replace(tzinfo=None)  # our clock's, not Amazon's
        return {"token_type": "bearer", "expires_at": iso(expires),
                "expires_in": max(0, int(token.expires_at - time.time()))}

    def given(body: Credentials) -> AmazonCredentials:
        try:
            return AmazonCredentials(lwa_app_id=body.appId, lwa_client_secret=body.clientSecret,
                                     refresh_token=body.refreshToken)
        except ValueError as exc:
            fields = {str(e["loc"][0]): e["msg"] for e in exc.errors(include_input=False)}
            raise ApiError(400, "invalid_request", "invalid credentials: " + ", ".join(fields), fields) from None

    @api.operation(bp, "/connect/", "POST", body=Credentials, tag="connection", responses={200: None, **errors},
                   summary="check the stored seller credentials with Amazon and record the connection")
    def connect(body: Credentials):
        credentials = stored()
        if body.given() and given(body) != credentials:
            raise ApiError(409, "credentials_managed", "this integration's credentials are kept in the manager; "
                           "store new ones there (PUT /integrations/<id> with credentials), then connect")
        try:
            token = exchange(credentials)
        except ApiError as exc:
            state.failed(credentials.lwa_app_id, exc.message)
            raise
        record = state.connected(credentials.lwa_app_id, token["expires_at"])
        return jsonify(connected=True, lwa_app_id=credentials.lwa_app_id, connected_at=iso(record.connected_at),
                       **token)

    @api.operation(bp, "/test-connection/", "POST", body=Credentials, tag="connection",
                   responses={200: None, **errors}, summary="check credentials with Amazon without storing them")
    def test_connection(body: Credentials):
        credentials = given(body) if body.given() else stored()
        return jsonify(valid=True, lwa_app_id=credentials.lwa_app_id, stored=not body.given(),
                       **exchange(credentials))

    @api.operation(bp, "/refresh-token/", "POST", body=Credentials, tag="connection",
                   responses={200: None, **errors},
                   summary="get a new access token (kept by the instance; the answer says until when)")
    def refresh_token(body: Credentials):
        credentials = given(body) if body.given() else stored()
        return jsonify(refreshed=True, lwa_app_id=credentials.lwa_app_id,
                       **exchange(credentials, refresh=not body.given()))

    @api.operation(bp, "/manual-refresh/", "POST", tag="connection", responses={200: None, **errors},
                   summary="refresh the stored seller's access token now")
    def manual_refresh():
        credentials = stored()
        token = exchange(credentials, refresh=True)
        state.connected(credentials.lwa_app_id, token["expires_at"])
        return jsonify(refreshed=True, lwa_app_id=credentials.lwa_app_id, **token)

    @api.operation(bp, "/connection-status/", "GET", tag="connection", responses={200: None},
                   summary="whether the seller is connected, and until when the access token holds")
    def connection_status():
        try:
            credentials = service.credentials()
            problem = None
        except ValueError as exc:
            credentials, problem = None, str(exc)
        return jsonify(state.view(credentials, problem))

    return bp

