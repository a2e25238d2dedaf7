"""`amazon-sync-api PORT NAME`: serve one Amazon seller's API under gunicorn."""

from __future__ import annotations

from hub_runtime.config import RuntimeSettings
from hub_runtime.entrypoints import run_api


def create_app(settings: RuntimeSettings, name: str):
    from .app import create_app  # in the gunicorn worker, after the fork
    from .kind import settings_from_environment

    return create_app(settings, settings_from_environment(), name)


def main(argv=None) -> None:
    from .kind import settings_from_environment

    settings_from_environment()  # a bad HUB_AMAZON_* variable stops here, named, before gunicorn forks
    run_api("amazon-sync-api", __doc__, 'the instance\'s name, e.g. "Demo seller"', RuntimeSettings, create_app, argv)


if __name__ == "__main__":
    main()
