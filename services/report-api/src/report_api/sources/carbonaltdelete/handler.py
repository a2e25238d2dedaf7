"""The job: download one inventory from CarbonAltDelete into the report file, recording each step, and
copy it to S3 when the instance names a bucket. The job's result (shown with its status) is the file's
metadata: company, period, report id, type, size and sha256."""

from __future__ import annotations

import logging

from hub_runtime.errors import PermanentError
from hub_runtime.kinds import KindConfigError

from ...web.report_routes import media_type
from ..base import JobContext, Produced, ReportRequestError, SourceEnv
from .client import CarbonAltDeleteClient
from .kind import KIND
from .params import InventoryParams
from .s3_store import S3Store
from .steps import StepRecorder

log = logging.getLogger("report_api.carbonaltdelete")


def download_inventory(params: InventoryParams, ctx: JobContext) -> Produced:
    try:
        settings = KIND.read_settings()
        credentials = KIND.required_credentials(ctx.env.settings.credentials)
    except KindConfigError as exc:
        raise PermanentError("not_configured", str(exc)) from None
    steps = StepRecorder(ctx)
    with CarbonAltDeleteClient(settings, credentials, wait=ctx.cancel.wait) as client:
        steps.reached("authenticating", "API key" if credentials.uses_api_key else "email and password")
        client.login()
        if params.company_id is not None or params.company_name is not None:
            steps.reached("switching_company", params.company_id or params.company_name or "")
            company = client.switch_company(company_id=params.company_id, company_name=params.company_name)
        else:
            company = client.current_company()
        steps.reached("creating_report", company.name or company.id)
        period = client.period(params.period, company.name)
        unit = client.root_unit(company.name)
        name = params.name or f"Inventory [{period.name}] ({unit.name})"
        report_id = client.create_report(name, period, unit, params.report_type)
        steps.reached("waiting", f"report {report_id}")
        client.wait_for_files(report_id, on_poll=steps.waiting)
        steps.reached("downloading", f"{params.report_type} as {params.file_type}")
        downloaded = client.download(report_id, params.report_type, params.file_type, ctx.output)
    summary = {"company_id": company.id, "company_name": company.name, "period": period.name,
               "period_id": period.id, "organizational_unit": unit.name, "report_id": report_id,
               "report_name": name, "report_type": params.report_type, "file_type": params.file_type,
               "size": downloaded.size, "sha256": downloaded.sha256, "url_fetches": downloaded.url_fetches}
    if settings.s3_bucket:
        steps.reached("uploading", f"s3://{settings.s3_bucket}")
        store = S3Store(settings)
        summary["s3"] = store.put(
            ctx.output, store.key(company.id, period.name, ctx.task_id, params.output_format()),
            media_type(params.output_format()),
            {"company-id": company.id, "company": company.name, "period": period.name, "report-id": report_id,
             "report-type": params.report_type, "sha256": downloaded.sha256})
    steps.reached("stored", f"{downloaded.size} bytes")
    log.info("inventory downloaded", extra={"report_id": report_id, "company_id": company.id,
                                            "bytes": downloaded.size})
    return Produced(rows=0, summary=summary)


def check_configured(user_id: str, params: InventoryParams, env: SourceEnv) -> None:
    """Before a job is queued: the instance has its settings and credentials (the API answers 400
    `not_configured` rather than queueing a job bound to fail)."""
    try:
        KIND.read_settings()
        KIND.required_credentials(env.settings.credentials)
    except KindConfigError as exc:
        raise ReportRequestError(str(exc), code="not_configured") from None
