"""`/openapi.json` (the document flask-openapi3 makes of the app's routes) and `/docs` (Swagger UI on it,
its assets served from the flask-openapi3-swagger package: no CDN). Both are public: they hold no secrets,
and the UI's "Authorize" takes the token the other routes need."""

from __future__ import annotations

from pathlib import Path

import flask_openapi3_swagger
from flask import current_app, jsonify, render_template_string
from flask_openapi3_swagger.templates import swagger_html_string

from .openapi import APIBlueprint, OpenAPI

SWAGGER_ASSETS = Path(flask_openapi3_swagger.__file__).with_name("templates") / "swagger"
SWAGGER_CONFIG = {"validatorUrl": None, "persistAuthorization": True}  # no call to swagger.io's validator


def docs_blueprint(api: OpenAPI) -> APIBlueprint:
    # the page asks for its assets at swagger/... and its document at openapi.json, relative to /docs
    bp = APIBlueprint("docs", __name__, static_folder=SWAGGER_ASSETS, static_url_path="/swagger")
    public = {"auth": "none", "tag": "documentation"}

    @api.operation(bp, "/openapi.json", "GET", summary="this OpenAPI document", **public)
    def openapi_json():
        return jsonify(current_app.api_doc)

    @api.operation(bp, "/docs", "GET", summary="browsable API documentation (Swagger UI)", **public)
    def docs():
        return render_template_string(swagger_html_string, doc_url="openapi.json", swagger_config=SWAGGER_CONFIG,
                                      oauth_config=None)

    return bp
