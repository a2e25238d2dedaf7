"""`carbonaltdelete-sim`: serve the CarbonAltDelete simulator and its S3 endpoint until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Sequence

from ..serving import name_and, positive_float, serve, simulator_parser
from .app import close_app, create_app
from .data import DEMO_API_KEY, DEMO_API_SECRET, DEMO_EMAIL, DEMO_PASSWORD


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = simulator_parser("carbonaltdelete-sim", "CarbonAltDelete API simulator.", 8510)
    parser.add_argument("--speed", type=positive_float, default=1.0, metavar="F",
                        help="report jobs run F times faster than the default 60 s (default 1)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the demo data (default 0)")
    parser.add_argument("--s3-port", type=int, default=0, metavar="N",
                        help="port of the S3 endpoint (moto), on --host; default any free one")
    parser.add_argument("--url-ttl", type=_url_ttl, default=300, metavar="S",
                        help="presigned URL lifetime in seconds (default 300)")
    parser.add_argument("--user", action="append", default=[], type=name_and("PASSWORD"), metavar="EMAIL:PASSWORD",
                        help=f"another user (repeatable); {DEMO_EMAIL}:{DEMO_PASSWORD} is always there")
    parser.add_argument("--api-key", action="append", default=[], type=_api_key, metavar="KEY:SECRET",
                        help=f"another API key, a UUID (repeatable); {DEMO_API_KEY}:{DEMO_API_SECRET} is always there")
    return parser.parse_args(argv)


def _url_ttl(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 604_800:
        raise argparse.ArgumentTypeError("must be between 1 and 604800 seconds (S3's limit)")
    return value


def _api_key(text: str) -> tuple[str, str]:
    key, secret = name_and("SECRET")(text)
    try:
        return str(uuid.UUID(key)), secret
    except ValueError:
        raise argparse.ArgumentTypeError("the key must be a UUID, as the real API's keys are") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        app = create_app(speed=args.speed, seed=args.seed, users=dict(args.user), api_keys=dict(args.api_key),
                         s3_host=args.host, s3_port=args.s3_port, url_ttl=args.url_ttl)
    except OSError as exc:
        print(f"carbonaltdelete-sim: cannot start the S3 endpoint on {args.host}:{args.s3_port}: {exc}",
              file=sys.stderr)
        return 1
    return serve(app, "carbonaltdelete-sim", args.host, args.port, on_exit=lambda: close_app(app))


if __name__ == "__main__":
    sys.exit(main())
