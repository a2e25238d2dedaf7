"""The rules source's job: run the uploads through the rules engine into the report file."""

from __future__ import annotations

import logging

from hub_runtime.errors import PermanentError

from ...engine import GenerationCancelled, InputError, RulesError, generate
from ..base import JobContext, Produced, ReportRequestError
from .fit import find_inputs, load_rules
from .params import RulesParams
from .uploads import Uploads

log = logging.getLogger("report_api.worker")


def generate_report(params: RulesParams, ctx: JobContext) -> Produced:
    """Raises PermanentError for files or rules that cannot make a report (retrying will not help)."""
    uploads = Uploads(ctx.env.storage, ctx.env.sessions)
    try:
        inputs = find_inputs(uploads, ctx.user_id, params)
    except ReportRequestError as exc:
        raise PermanentError("input_missing", exc.message) from None
    try:
        rules = load_rules(uploads, inputs.rules)
    except RulesError as exc:
        raise PermanentError("invalid_rules", str(exc)[:1000]) from None
    reference = uploads.path_of(inputs.reference) if inputs.reference else None
    try:
        summary = generate(rules, uploads.path_of(inputs.input), reference, ctx.output, fmt=params.format,
                           progress=ctx.progress, cancel=ctx.cancel)
    except GenerationCancelled:
        ctx.stopped()
    except InputError as exc:
        raise PermanentError("invalid_input", str(exc)[:1000]) from None
    log.info("report generated", extra={"rows": summary.rows, "error_rows": summary.error_rows,
                                        "seconds": round(summary.seconds, 3)})
    return Produced(rows=summary.rows, summary={
        "rows": summary.rows, "error_rows": summary.error_rows, "errors_by_column": summary.errors_by_column,
        "columns": summary.columns, "output_bytes": summary.output_bytes, "seconds": round(summary.seconds, 3)})
