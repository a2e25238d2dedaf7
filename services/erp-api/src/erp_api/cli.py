"""`erp-api PORT WORKSHOP`: serve one workshop's API under gunicorn (as the old `python api.py port
workshop`, with a production server)."""

from __future__ import annotations

import argparse

from hub_runtime.config import RuntimeSettings, load_settings
from hub_runtime.jsonlog import setup_logging
from hub_runtime.web.serve import default_workers, instance_parser, serve_instance


def parse_args(argv=None) -> argparse.Namespace:
    parser = instance_parser("erp-api", __doc__, 'the workshop this instance serves, e.g. "Bennys Auto"')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    settings = load_settings(RuntimeSettings)  # fail here, with a clear message, before forking
    if args.workers is None:
        args.workers = default_workers()
    setup_logging(settings.log_level, settings.log_format, service="erp-api", workshop=args.name)

    def factory():
        from .app import create_app

        setup_logging(settings.log_level, settings.log_format, service="erp-api", workshop=args.name)
        return create_app(settings, args.name)

    serve_instance("erp-api", args.name, args, settings.data_dir, factory)


if __name__ == "__main__":
    main()
