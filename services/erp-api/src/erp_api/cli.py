"""`erp-api PORT WORKSHOP`: serve one workshop's API under gunicorn (as the old `python api.py port
workshop`, with a production server)."""

from __future__ import annotations

from hub_runtime.config import RuntimeSettings
from hub_runtime.entrypoints import run_api


def create_app(settings: RuntimeSettings, workshop: str):
    from .app import create_app  # in the gunicorn worker, after the fork

    return create_app(settings, workshop)


def main(argv=None) -> None:
    run_api("erp-api", __doc__, 'the workshop this instance serves, e.g. "Bennys Auto"', RuntimeSettings,
            create_app, argv)


if __name__ == "__main__":
    main()
