"""The API's gunicorn, as a real process: a malformed request (a NUL in a header name, which any client can
send without a token) is logged as one line in the hub's format, not as a `--- Logging error ---` traceback
that loses the message and floods the log."""

from __future__ import annotations

import json
import socket

from hub_runtime.testing.processes import ServiceProcess
from hub_runtime.testing.services import free_port


def test_a_malformed_request_logs_one_line(tmp_path, api_token):
    port = free_port()
    env = {"HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}", "HUB_DATA_DIR": str(tmp_path),
           "HUB_API_TOKEN": api_token, "HUB_LOG_FORMAT": "json"}
    api = ServiceProcess("erp-api", ["erp-api", str(port), "Bennys Auto"], env, tmp_path).start()
    try:
        api.wait_http(f"http://127.0.0.1:{port}/alive")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET /alive HTTP/1.1\r\nHost: x\r\nX-Bad\x00: 1\r\n\r\n")
            answer = conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400"), answer
    finally:
        api.stop()
    log = api.log()
    assert "Logging error" not in log and "Traceback" not in log, log[-3000:]
    invalid = [json.loads(line) for line in log.splitlines() if "Invalid request" in line]
    assert len(invalid) == 1, log[-3000:]
    assert invalid[0]["logger"] == "gunicorn.error" and invalid[0]["level"] == "WARNING"
