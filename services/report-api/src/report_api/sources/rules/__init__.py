"""The rules source: reports from large CSV files (an input, optionally joined to a reference) by a
JSON/YAML rules file, all three uploaded by the user (docs/rules-language.md)."""

from __future__ import annotations

from ..base import ReportSource
from .fit import check_params
from .handler import generate_report
from .params import RulesParams
from .routes import rules_blueprint

SOURCE = ReportSource(
    name="rules", params=RulesParams, handler=generate_report, routes=rules_blueprint, check=check_params,
    uses_uploads=True,
    summary="reports from large CSV files (input, optional reference) by JSON/YAML rules, from your uploads")
