"""Report sources, found through the `hub.report_sources` entry-point group: a package declares one with

    [project.entry-points."hub.report_sources"]
    rules = "report_api.sources.rules:SOURCE"

and, once installed, every report-api instance can serve it (`HUB_REPORT_SOURCES` narrows which)."""

from __future__ import annotations

from hub_runtime.kinds import load_plugin, plugin_names

from .base import JobContext, Produced, ReportParams, ReportRequestError, ReportSource, SourceEnv

GROUP = "hub.report_sources"

__all__ = ["GROUP", "JobContext", "Produced", "ReportParams", "ReportRequestError", "ReportSource", "SourceEnv",
           "UnknownSource", "installed", "load_sources"]


class UnknownSource(LookupError):
    def __init__(self, name: str, known: list[str]):
        super().__init__(f"no report source {name!r} is installed (installed: {', '.join(known) or 'none'}; "
                         f"a source is declared in the {GROUP!r} entry-point group)")
        self.name = name


def installed() -> list[str]:
    """The names of the installed sources."""
    return plugin_names(GROUP)


def load_sources(names: list[str] | None = None) -> dict[str, ReportSource]:
    """The named sources (every installed one without names), loaded; `UnknownSource` names a missing one."""
    sources = {}
    for name in names if names is not None else installed():
        try:
            source = load_plugin(GROUP, name)
        except LookupError:
            raise UnknownSource(name, installed()) from None
        if not isinstance(source, ReportSource) or source.name != name:
            raise TypeError(f"the {GROUP!r} entry point {name!r} is not a ReportSource named {name!r}")
        sources[name] = source
    return sources
