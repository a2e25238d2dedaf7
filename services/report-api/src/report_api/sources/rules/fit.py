"""Whether a rules report can run: its uploads exist and the rules fit their headers. Checked before a
report is queued (by the API and by each schedule run) and the files are read again by the worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...engine import RulesError, RuleSet, parse_rules
from ...models import Upload
from ..base import ReportRequestError, SourceEnv
from .params import RulesParams
from .uploads import Uploads

FIT_ERROR = "rules_do_not_fit"


@dataclass(frozen=True)
class Inputs:
    input: Upload
    reference: Upload | None
    rules: Upload


def load_rules(uploads: Uploads, rules: Upload) -> RuleSet:
    return parse_rules(uploads.path_of(rules).read_bytes(), rules.fmt)


def find_inputs(uploads: Uploads, user_id: str, params: RulesParams) -> Inputs:
    """The user's uploads the parameters name, or `ReportRequestError` if one no longer exists."""
    def get(upload_id: str | None, kind: str) -> Upload | None:
        upload = uploads.get(user_id, upload_id) if upload_id else None
        return upload if upload is not None and upload.kind == kind else None

    inputs = Inputs(get(params.input_id, "input"), get(params.reference_id, "reference"),
                    get(params.rules_id, "rules"))
    if inputs.input is None or inputs.rules is None or (params.reference_id and inputs.reference is None):
        raise ReportRequestError("an input, reference or rules file of this report no longer exists",
                                 code="input_missing")
    return inputs


def check_fit(rules_path: Path, rules_fmt: str, input_columns: list[str],
              reference_columns: list[str] | None) -> None:
    """Raise `ReportRequestError` unless the rules can run on files with these columns."""
    try:
        rules = parse_rules(rules_path.read_bytes(), rules_fmt)
    except RulesError as exc:  # checked at upload; only a rules file from an older version lands here
        raise ReportRequestError(f"the rules file is not valid: {exc}", exc.problems, FIT_ERROR) from None
    problems = rules.check_headers(input_columns, reference_columns)
    if problems:
        listed = "; ".join(p["message"] for p in problems[:5])
        raise ReportRequestError(f"the rules do not fit the files: {listed}", problems, FIT_ERROR)


def check_params(user_id: str, params: RulesParams, env: SourceEnv) -> None:
    """The source's check before a report is queued."""
    uploads = Uploads(env.storage, env.sessions)
    inputs = find_inputs(uploads, user_id, params)
    check_fit(uploads.path_of(inputs.rules), inputs.rules.fmt, inputs.input.columns or [],
              inputs.reference.columns if inputs.reference else None)
