"""Request bodies: multipart parts streamed to the staging folder (a source checks and keeps them, or they are
deleted at the end of the request), and the form fields or JSON body validated by a model."""

from __future__ import annotations

from pathlib import Path

from flask import Request, current_app, request

from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import parse_model


class StagingRequest(Request):
    """Writes each uploaded part straight to a file in the staging folder (werkzeug would spool it to a
    temporary file first); whatever is not recorded by the end of the request is deleted."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        handle = current_app.config["STORAGE"].new_staging_file()
        self.__dict__.setdefault("staging_paths", []).append(Path(handle.name))
        return handle


def drop_unrecorded_parts(_exc=None) -> None:
    """teardown_request: remove staged parts of this request that were not moved into place."""
    for path in request.__dict__.get("staging_paths", []):
        path.unlink(missing_ok=True)


def multipart() -> bool:
    return (request.mimetype or "").startswith("multipart/form-data")


def request_options(model):
    """A JSON body, or the form fields of a multipart request, validated by `model`."""
    if multipart():
        return parse_model(model, request.form.to_dict(), "form")
    if not request.get_data(cache=True):
        return parse_model(model, {}, "body")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "send a JSON object, or multipart/form-data with files")
    return parse_model(model, data, "body")
