"""`demo-erp`: serve the demo workshop ERP over HTTP until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from werkzeug.serving import make_server

from .app import create_app


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="demo-erp", description="Demo workshop ERP simulator.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8200, help="port, 0 for any free one (default 8200)")
    parser.add_argument("--state-file", metavar="PATH",
                        help="JSON file that keeps worksheets and lines across restarts")
    parser.add_argument("--session-ttl", type=_positive_int, default=1800, metavar="S",
                        help="session lifetime in seconds (default 1800)")
    parser.add_argument("--user", action="append", default=[], type=_user, metavar="NAME:PASSWORD",
                        help="another user who can log in (repeatable); admin:gygag is always there")
    return parser.parse_args(argv)


def _user(text: str) -> tuple[str, str]:
    name, colon, password = text.partition(":")
    if not (name and colon and password):
        raise argparse.ArgumentTypeError("must be NAME:PASSWORD")
    return name, password


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our access log replaces werkzeug's

    app = create_app(state_file=args.state_file, session_ttl=args.session_ttl, users=dict(args.user))
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as exc:
        print(f"demo-erp: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop)
    host = f"[{args.host}]" if ":" in args.host else args.host  # IPv6 literal
    print(f"demo-erp listening on http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("demo-erp stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
