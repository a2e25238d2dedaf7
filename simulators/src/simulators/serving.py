"""What every simulator's server shares: the access log, the argparse types of its CLI and the serve loop
(a "NAME listening on URL" line once ready, a clean stop on SIGTERM or Ctrl-C)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

from flask import Flask, Response, g, request
from werkzeug.serving import make_server


def register_access_log(app: Flask, logger: logging.Logger) -> None:
    """One line per request: method, path, status, milliseconds. Never bodies, headers or query strings,
    so passwords and tokens cannot end up in the log."""

    @app.before_request
    def _start_timer() -> None:
        g.sim_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        elapsed_ms = (time.perf_counter() - g.get("sim_started", time.perf_counter())) * 1000
        logger.info("%s %s %d %.1fms", request.method, request.path, response.status_code, elapsed_ms)
        return response


def name_and(secret: str) -> Callable[[str], tuple[str, str]]:
    """An argparse type for `NAME:<secret>` options (`NAME:PASSWORD`, `NAME:KEY`); the secret may hold colons."""

    def parse(text: str) -> tuple[str, str]:
        name, colon, value = text.partition(":")
        if not (name and colon and value):
            raise argparse.ArgumentTypeError(f"must be NAME:{secret}")
        return name, value

    return parse


def simulator_parser(prog: str, description: str, port: int) -> argparse.ArgumentParser:
    """A simulator's command line with what every one takes: `--host` and `--port`."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=port, help=f"port, 0 for any free one (default {port})")
    return parser


def positive_float(text: str) -> float:
    """An argparse type: a number above 0 (at most a day, for times and factors)."""
    value = float(text)
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError("must be a number above 0 (at most 86400)")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(app: Flask, name: str, host: str, port: int, on_exit: Callable[[], None] | None = None) -> int:
    """Serve `app` (threaded) until SIGTERM or Ctrl-C, then run `on_exit` (e.g. stop a server beside it);
    the exit status for `main`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our access log replaces werkzeug's
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        print(f"{name}: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop)
    shown_host = f"[{host}]" if ":" in host else host  # IPv6 literal
    print(f"{name} listening on http://{shown_host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if on_exit is not None:
            on_exit()
    print(f"{name} stopped", flush=True)
    return 0
