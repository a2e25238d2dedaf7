"""The demo ERP over its HTTP API (simulators/demo_erp). The worked example of an HTTP adapter."""

from __future__ import annotations

import requests

from hub_runtime.errors import PermanentError, TransientError

from .base import (
    ERP_PROTOCOL,
    ERP_UNAVAILABLE,
    INVALID_LINE,
    LOGIN_FAILED,
    PRODUCT_NOT_FOUND,
    WORKSHEET_CLOSED,
    WORKSHEET_NOT_FOUND,
    Credentials,
    ErpAdapter,
    OrderLine,
    Worksheet,
)

# The ERP's error codes that map to a permanent order error.
_PERMANENT = {
    "invalid_credentials": LOGIN_FAILED,
    "user_inactive": LOGIN_FAILED,
    "worksheet_not_found": WORKSHEET_NOT_FOUND,
    "worksheet_closed": WORKSHEET_CLOSED,
    "product_not_found": PRODUCT_NOT_FOUND,
    "invalid_quantity": INVALID_LINE,
    "invalid_reference": INVALID_LINE,
}


class DemoHttpAdapter(ErpAdapter):
    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self._credentials: Credentials | None = None
        self._token: str | None = None

    def login(self, credentials: Credentials) -> None:
        if self._token and credentials == self._credentials:
            return  # warm session
        self._credentials, self._token = credentials, None
        body = self._call("POST", "/api/login", json={"username": credentials.username,
                                                      "password": credentials.password}, auth=False)
        self._token = body["token"]

    def find_worksheet(self, number: str) -> Worksheet:
        body = self._call("GET", f"/api/worksheets/{requests.utils.quote(number, safe='')}")
        return Worksheet(str(body["number"]), body["status"], body.get("customer"))

    def find_line(self, worksheet: Worksheet, reference: str) -> OrderLine | None:
        body = self._call("GET", f"/api/worksheets/{requests.utils.quote(worksheet.number, safe='')}/lines",
                          params={"reference": reference})
        lines = [line for line in body["lines"] if line.get("reference") == reference]
        return _line(lines[0]) if lines else None

    def add_line(self, worksheet: Worksheet, product_nr: str, quantity: str, reference: str) -> OrderLine:
        body = self._call("POST", f"/api/worksheets/{requests.utils.quote(worksheet.number, safe='')}/lines",
                          json={"product_nr": product_nr, "quantity": quantity, "reference": reference})
        return _line(body)

    def add_new_line(self, number: str, product_nr: str, quantity: str, reference: str) -> tuple[Worksheet, OrderLine]:
        """A first attempt posts the line at once: the ERP itself refuses a line on an unknown worksheet
        (404 `worksheet_not_found`) or a closed one (409 `worksheet_closed`), so the worksheet need not be
        read first: one request per order instead of two."""
        worksheet = Worksheet(number, "open", None)
        return worksheet, self.add_line(worksheet, product_nr, quantity, reference)

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, *, auth: bool = True, relogin: bool = True, **kwargs) -> dict:
        headers = {"Authorization": f"Bearer {self._token}"} if auth and self._token else {}
        try:
            response = self.http.request(method, self.base_url + path, headers=headers,
                                         timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise TransientError(ERP_UNAVAILABLE, f"{method} {path}: {type(exc).__name__}") from None
        if response.status_code == 401 and auth and relogin and self._credentials:
            code = _error_code(response)
            if code in ("session_expired", "unauthorized"):
                self._token = None
                self.login(self._credentials)
                return self._call(method, path, auth=auth, relogin=False, **kwargs)
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(ERP_UNAVAILABLE, f"ERP answered {response.status_code} to {method} {path}")
        if response.status_code >= 400:
            code = _error_code(response)
            message = _error_message(response)
            if code in _PERMANENT:
                raise PermanentError(_PERMANENT[code], message)
            raise PermanentError(ERP_PROTOCOL, f"ERP answered {response.status_code} {code}: {message}")
        try:
            return response.json()
        except ValueError:
            raise TransientError(ERP_PROTOCOL, f"ERP answered non-JSON to {method} {path}") from None


def _line(body: dict) -> OrderLine:
    return OrderLine(str(body["id"]), str(body["product_nr"]), str(body["quantity"]), body["reference"])


def _error_code(response: requests.Response) -> str:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}"


def _error_message(response: requests.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def make(erp, settings) -> DemoHttpAdapter:
    """The `http` entry point of hub.erp_adapters: the demo ERP's HTTP API."""
    return DemoHttpAdapter(erp.base_url, timeout=erp.timeout_seconds)
