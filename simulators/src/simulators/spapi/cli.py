"""`spapi-sim`: serve the Amazon Selling Partner API simulator (LWA, Orders, Reports) until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Sequence

from ..serving import positive_float, positive_int, serve, simulator_parser
from .accounts import DEMO_APP_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN
from .app import DEFAULT_ORDERS, create_app
from .context import sim

_SELLER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def _seller(text: str) -> str:
    if not _SELLER.fullmatch(text) or text == "demo":
        raise argparse.ArgumentTypeError("must be a name of letters, digits, '.', '_' or '-' (not 'demo')")
    return text


def _start(text: str) -> float:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an ISO 8601 date-time, e.g. 2026-01-15T12:00:00Z") from None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def _job_seconds(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError("must be between 0 and 86400")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = simulator_parser("spapi-sim", "Amazon Selling Partner API simulator (LWA, Orders, Reports).", 8610)
    parser.add_argument("--speed", type=positive_float, default=1.0, metavar="F",
                        help="simulated time runs F times faster than wall time (default 1)")
    parser.add_argument("--job-seconds", type=_job_seconds, default=60, metavar="S",
                        help="simulated seconds a report takes to process (default 60)")
    parser.add_argument("--seed", type=int, default=1, metavar="N", help="seed of the generated data (default 1)")
    parser.add_argument("--orders", type=positive_int, default=DEFAULT_ORDERS, metavar="N",
                        help=f"orders per seller, over the last 90 days (default {DEFAULT_ORDERS})")
    parser.add_argument("--start", type=_start, default=None, metavar="ISO",
                        help="simulated time at start (default now); with --seed it fixes the data exactly")
    parser.add_argument("--seller", action="append", default=[], type=_seller, metavar="NAME",
                        help="another seller that authorised the demo app (repeatable); its refresh token is printed")
    parser.add_argument("--rate-scale", type=positive_float, default=1.0, metavar="F",
                        help="usage plans: the models' default rates and bursts times F (default 1)")
    parser.add_argument("--document-base-url", default=None, metavar="URL",
                        help="base of report document URLs (default: the address the simulator listens on)")
    args = parser.parse_args(argv)
    if len(set(args.seller)) != len(args.seller):
        parser.error("--seller: each name only once")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    app = create_app(seed=args.seed, orders=args.orders, speed=args.speed, job_seconds=args.job_seconds,
                     sellers=args.seller, start=args.start, document_base_url=args.document_base_url,
                     rate_scale=args.rate_scale)
    print(f"SP-API simulator: lwa_app_id={DEMO_APP_ID} lwa_client_secret={DEMO_CLIENT_SECRET} "
          f"refresh_token={DEMO_REFRESH_TOKEN}", flush=True)
    with app.app_context():
        for seller in list(sim().accounts.sellers.values())[1:]:
            print(f"SP-API simulator: seller={seller.name} selling_partner_id={seller.seller_id} "
                  f"refresh_token={seller.refresh_token}", flush=True)
    return serve(app, "spapi-sim", args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
