"""`report-api PORT NAME`: serve one report instance's API under gunicorn."""

from __future__ import annotations

from hub_runtime.entrypoints import run_api

from .settings import ReportSettings


def create_app(settings: ReportSettings, name: str):
    from .app import create_app  # in the gunicorn worker, after the fork

    return create_app(settings, name)


def main(argv=None) -> None:
    # timeout: a thread receiving a multi-GB upload must not get its worker killed
    run_api("report-api", __doc__, 'the instance\'s name, e.g. "Demo reports"', ReportSettings, create_app, argv,
            timeout=120)


if __name__ == "__main__":
    main()
