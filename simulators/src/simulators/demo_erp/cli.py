"""`demo-erp`: serve the demo workshop ERP over HTTP until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..serving import name_and, positive_int, serve, simulator_parser
from .app import create_app


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = simulator_parser("demo-erp", "Demo workshop ERP simulator.", 8200)
    parser.add_argument("--state-file", metavar="PATH",
                        help="JSON file that keeps worksheets and lines across restarts")
    parser.add_argument("--session-ttl", type=positive_int, default=1800, metavar="S",
                        help="session lifetime in seconds (default 1800)")
    parser.add_argument("--user", action="append", default=[], type=name_and("PASSWORD"), metavar="NAME:PASSWORD",
                        help="another user who can log in (repeatable); admin:gygag is always there")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    app = create_app(state_file=args.state_file, session_ttl=args.session_ttl, users=dict(args.user))
    return serve(app, "demo-erp", args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
