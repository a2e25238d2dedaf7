"""Inventory: report requests queued as one activity per marketplace, and Amazon's report schedules
(create, list, cancel), which are single calls made while the request waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import jsonify

from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody, OpenAPI

from ..marketplaces import BY_CODE, INVENTORY_CODES
from ..spapi.limits import USAGE_PLANS
from .schemas import CancelScheduleQuery, InventoryRequest, ScheduleListQuery, ScheduleRequest
from .upstream import upstream_errors

INVENTORY_REPORT = "GET_FBA_MYI_ALL_INVENTORY_DATA"
REPORT_OPERATIONS = ("createReport", "getReport", "getReportDocument", "createReportSchedule",
                     "getReportSchedules", "cancelReportSchedule")


def inventory_blueprint(service, api: OpenAPI) -> APIBlueprint:
    bp = APIBlueprint("inventory", __name__, url_prefix="/api/inventory")

    @api.operation(bp, "/reports/", "POST", body=InventoryRequest, tag="inventory",
                   responses={202: None, 400: ErrorBody},
                   summary="yesterday's FBA inventory report of each marketplace (IT, DE, UK), as activities")
    def request_reports(body: InventoryRequest):
        report_date = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        results = {}
        for code in body.codes():
            market = BY_CODE[code]
            activity_id = service.activities.queue(
                "inventory", {"marketplace_id": market.id, "report_date": report_date},
                marketplace_id=market.id, detail=f"FBA inventory of {code} on {report_date}")
            results[code] = {"activity_id": activity_id, "status": "pending",
                             "activity_url": f"/api/activities/{activity_id}/"}
        return jsonify(report_type=INVENTORY_REPORT, report_date=report_date, results=results), 202

    @api.operation(bp, "/reports/", "GET", tag="inventory", responses={200: None},
                   summary="the marketplaces served, whether credentials are stored, and Amazon's rate limits")
    def reports_info():
        try:
            stored = service.credentials() is not None
        except ValueError:
            stored = False
        return jsonify(report_type=INVENTORY_REPORT, marketplaces={c: BY_CODE[c].id for c in INVENTORY_CODES},
                       default_marketplaces=list(INVENTORY_CODES), credentials_stored=stored,
                       rate_limits={op: {"rate_per_second": USAGE_PLANS[op].rate, "burst": USAGE_PLANS[op].burst}
                                    for op in REPORT_OPERATIONS})

    @api.operation(bp, "/report-schedules/", "POST", body=ScheduleRequest, tag="inventory",
                   responses={200: None, 400: ErrorBody},
                   summary="create an Amazon report schedule in each marketplace")
    def create_schedules(body: ScheduleRequest):
        try:
            first = body.next_creation()
        except ValueError as exc:
            raise ApiError(400, "invalid_request", str(exc), {"nextReportCreationTime": str(exc)}) from None
        results = {}
        for code in body.codes():
            results[code] = _per_marketplace(lambda market: {"reportScheduleId": service.client().reports
                                             .create_schedule(body.reportType, [market.id], body.period, first,
                                                              body.reportOptions)}, code)
        return jsonify(results=results)

    @api.operation(bp, "/report-schedules/list/", "GET", query=ScheduleListQuery, tag="inventory",
                   responses={200: None, 400: ErrorBody}, summary="Amazon's report schedules per marketplace")
    def list_schedules(query: ScheduleListQuery):
        results = {}
        for code in query.codes():
            results[code] = _per_marketplace(lambda market: {"reportSchedules": [
                s for s in service.client().reports.list_schedules(query.reportTypes.split(","))
                if market.id in s.get("marketplaceIds", [market.id])][:query.pageSize or None]}, code)
        return jsonify(results=results)

    @api.operation(bp, "/report-schedules/<schedule_id>/", "DELETE", query=CancelScheduleQuery, tag="inventory",
                   responses={200: None, 400: ErrorBody, 502: ErrorBody}, summary="cancel an Amazon report schedule")
    def cancel_schedule(schedule_id: str, query: CancelScheduleQuery):
        started = datetime.now(UTC)
        with upstream_errors("cancelReportSchedule"):
            service.client().reports.cancel_schedule(schedule_id)
        return jsonify(success=True, reportScheduleId=schedule_id, marketplace=query.marketplace,
                       seconds=round((datetime.now(UTC) - started).total_seconds(), 3))

    return bp


def _per_marketplace(call, code: str) -> dict:
    """One marketplace's answer, or its error beside the others' answers."""
    try:
        with upstream_errors(f"marketplace {code}"):
            return call(BY_CODE[code])
    except ApiError as exc:
        return {"error": {"code": exc.code, "message": exc.message}}
