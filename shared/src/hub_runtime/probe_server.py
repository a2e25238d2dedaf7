"""Probes for processes without a Flask app (workers): `/alive`, `/ready` and `/metrics` on a small
threaded HTTP server, so Kubernetes can probe every process."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .metrics import exposition

log = logging.getLogger("hub.probes")


def serve_probes(port: int, alive: Callable[[], tuple[dict, int]], ready: Callable[[], tuple[dict, int]],
                 host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Start the probe server in a daemon thread. `alive()` / `ready()` return the JSON-able answer and its
    status (`probes.readiness` makes the latter)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/metrics":
                return self._send(200, exposition(), "text/plain; version=0.0.4")
            probe = {"/alive": alive, "/ready": ready}.get(self.path)
            if probe is None:
                body = {"error": {"code": "not_found", "message": "try /alive, /ready or /metrics"}}
                return self._send(404, json.dumps(body).encode(), "application/json")
            answer, status = probe()
            return self._send(status, json.dumps(answer).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:  # probes are frequent; no access log
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="probes", daemon=True).start()
    log.info("probes on http://%s:%d/alive", host, server.server_port)
    return server
