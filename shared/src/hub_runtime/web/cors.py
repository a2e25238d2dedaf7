"""CORS for an allow-list of browser origins (the ILX GUI calling the manager from its own site).

Nothing is open by default: without a configured origin no response carries a CORS header, so a browser
page of another site cannot read any answer. A request from an allowed origin gets
`Access-Control-Allow-Origin` naming exactly that origin (never `*`), and a preflight (`OPTIONS` with
`Access-Control-Request-Method`) is answered here, before authentication, as the CORS standard requires:
browsers never send the `Authorization` header on a preflight. The token stays required for the real call.
"""

from __future__ import annotations

from urllib.parse import urlsplit

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-ID"
PREFLIGHT_MAX_AGE = "600"


def parse_origins(setting: str) -> tuple[str, ...]:
    """`https://gui.example.com, http://localhost:3000` -> the origins; ValueError naming a bad one.
    An origin is a scheme, a host and an optional port: no path, no wildcard."""
    origins = []
    for raw in (part.strip() for part in setting.split(",")):
        if not raw:
            continue
        parts = urlsplit(raw)
        if (parts.scheme not in ("http", "https") or not parts.hostname or "*" in raw or parts.username
                or parts.path not in ("", "/") or parts.query or parts.fragment):
            raise ValueError(f"{raw!r} is not an origin such as https://gui.example.com or http://localhost:3000")
        origins.append(f"{parts.scheme}://{parts.netloc}".lower())
    return tuple(origins)


class CorsAllowList:
    """WSGI middleware: CORS headers for the allowed origins only."""

    def __init__(self, wsgi_app, origins: tuple[str, ...]):
        self.wsgi_app = wsgi_app
        self.origins = frozenset(origins)

    def __call__(self, environ: dict, start_response):
        origin = environ.get("HTTP_ORIGIN", "")
        allowed = origin.lower() in self.origins
        if allowed and environ.get("REQUEST_METHOD") == "OPTIONS" and \
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            start_response("204 No Content", [
                ("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
                ("Access-Control-Allow-Methods", ALLOWED_METHODS),
                ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
                ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE), ("Content-Length", "0")])
            return [b""]

        def start(status: str, headers: list, exc_info=None):
            headers.append(("Vary", "Origin"))  # the answer depends on it: caches must not mix origins
            if allowed:
                headers += [("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", "X-Request-ID")]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)
