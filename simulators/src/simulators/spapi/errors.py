"""SP-API's error shape, `{"errors": [{"code", "message", "details"}]}`, and the errors every operation can
answer, in Amazon's words."""

from __future__ import annotations

from flask import Response, jsonify

DENIED = "Access to requested resource is denied."


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def response(self) -> Response:
        response = jsonify(errors=[{"code": self.code, "message": self.message, "details": self.details}])
        response.status_code = self.status
        return response


def invalid_input(message: str, details: str = "") -> ApiError:
    return ApiError(400, "InvalidInput", message, details)


def not_found(message: str = "Resource not found.", details: str = "") -> ApiError:
    return ApiError(404, "NotFound", message, details)


def unauthorized(details: str) -> ApiError:
    return ApiError(403, "Unauthorized", DENIED, details)


def quota_exceeded() -> ApiError:
    return ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")


def internal_failure(status: int = 500) -> ApiError:
    if status == 503:
        return ApiError(503, "ServiceUnavailable", "Service is temporarily unavailable. Please try again later.")
    return ApiError(status, "InternalFailure", "We encountered an internal error. Please try again.")
