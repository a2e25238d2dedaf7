"""`gcore-sim`: serve the Gcore IAM + billing report simulator over HTTP until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from ..serving import name_and, positive_float, positive_int, serve, simulator_parser
from .accounts import DEMO_API_KEY, DEMO_PASSWORD, DEMO_USERNAME
from .app import create_app

_API_KEY = re.compile(r"\d+\$\S+")  # Gcore's permanent tokens: "<id>$<secret>"


def _api_key(text: str) -> tuple[str, str]:
    name, key = name_and("KEY")(text)
    if not _API_KEY.fullmatch(key):
        raise argparse.ArgumentTypeError("KEY must look like Gcore's permanent tokens: <digits>$<secret>")
    return name, key


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = simulator_parser("gcore-sim", "Gcore IAM and billing report API simulator.", 8410)
    parser.add_argument("--speed", type=positive_float, default=1.0, metavar="F",
                        help="time factor: a report job takes JOB_SECONDS / F seconds (default 1)")
    parser.add_argument("--job-seconds", type=positive_float, default=20.0, metavar="S",
                        help="how long a report job takes at speed 1 (default 20)")
    parser.add_argument("--seed", type=int, default=1, metavar="N", help="seed of the metric values (default 1)")
    parser.add_argument("--rows-per-report", type=positive_int, default=0, metavar="N",
                        help="every report has at least N rows (more client companies); default: the demo's")
    parser.add_argument("--user", action="append", default=[], type=name_and("PASSWORD"), metavar="NAME:PASSWORD",
                        help=f"another user (repeatable); {DEMO_USERNAME}:{DEMO_PASSWORD} is always there")
    parser.add_argument("--api-key", action="append", default=[], type=_api_key, metavar="NAME:KEY",
                        help=f"a permanent API token for user NAME (repeatable); the demo user has {DEMO_API_KEY}")
    args = parser.parse_args(argv)
    known = {DEMO_USERNAME} | {name for name, _ in args.user}
    for name, _ in args.api_key:
        if name not in known:
            parser.error(f"--api-key {name}:...: no such user (add it with --user)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    app = create_app(users=dict(args.user), api_keys=args.api_key, seed=args.seed, speed=args.speed,
                     job_seconds=args.job_seconds, rows_per_report=args.rows_per_report)
    return serve(app, "gcore-sim", args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
