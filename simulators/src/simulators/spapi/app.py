"""The SP-API simulator's Flask application factory and its request pipeline.

Every SP-API operation goes through the same steps, in Amazon's order: a request id; the fault latency;
the access token (403 `Unauthorized`); injected failures (`fail_next`, `throttle_next`); the usage plan's
token bucket for this seller and operation (429 `QuotaExceeded`); then the operation. Successes carry
`x-amzn-RateLimit-Limit` on every other call, every answer `x-amzn-RequestId`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from ..serving import register_access_log
from .accounts import Accounts, AuthError, Seller, demo_seller, extra_seller
from .clock import Clock
from .context import EXTENSION_KEY, SpapiContext, sim
from .documents import Documents
from .errors import ApiError, internal_failure, not_found, quota_exceeded, unauthorized
from .faults import Faults
from .lwa import lwa
from .order_search import Pager
from .orders_v0 import orders_v0
from .orders_v2026 import orders_v2026
from .params import Signer
from .ratelimit import OperationCounters, RateLimiter
from .reports_api import downloads, reports_api
from .sim import sim_api
from .store import SellerStore

access_log = logging.getLogger("spapi_sim.access")
log = logging.getLogger("spapi_sim")

DEFAULT_ORDERS = 3000


def create_app(seed: int = 1, orders: int = DEFAULT_ORDERS, speed: float = 1.0, job_seconds: int = 60,
               sellers: Iterable[str] = (), start: float | None = None, document_base_url: str | None = None,
               rate_scale: float = 1.0) -> Flask:
    """The simulator: LWA, Orders v0 and 2026-01-01, Reports 2021-06-30 and `/_sim`, all in memory.

    `seed` (with each seller) decides the data; `orders` is how many each seller has, placed over the 90
    days before `start` (simulated epoch seconds, default now); simulated time runs `speed` times faster than
    wall time; a report takes `job_seconds` of it; `sellers` names sellers besides the demo one; report
    document URLs start with `document_base_url` (default: the address the server listens on); the usage
    plans are the models' defaults times `rate_scale`."""
    clock = Clock(speed, start)
    all_sellers: list[Seller] = [demo_seller()]
    for name in sellers:
        if name in {s.name for s in all_sellers}:
            raise ValueError(f"seller {name!r} given twice")
        all_sellers.append(extra_seller(name, len(all_sellers)))
    anchor = clock.now()
    signer = Signer()
    app = Flask(__name__)
    app.json.sort_keys = False
    app.config["SPAPI_DOCUMENT_BASE_URL"] = document_base_url
    app.json.ensure_ascii = False  # UTF-8 as Amazon sends it (Köln, not K\u00f6ln)
    app.extensions[EXTENSION_KEY] = SpapiContext(
        clock=clock, accounts=Accounts(all_sellers, clock),
        stores={s.seller_id: SellerStore(s, seed, anchor, orders) for s in all_sellers},
        faults=Faults(job_seconds), limiter=RateLimiter(clock, rate_scale), operations=OperationCounters(),
        documents=Documents(signer), pager=Pager(signer), seed=seed,
    )
    app.before_request(_before_request)
    app.after_request(_after_request)
    for blueprint in (lwa, orders_v0, orders_v2026, reports_api, downloads, sim_api):
        app.register_blueprint(blueprint)
    _register_error_handlers(app)
    register_access_log(app, access_log)
    return app


def _operation() -> str | None:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "spapi_operation", None)


def _before_request() -> Response | None:
    g.spapi_request_id = str(uuid.uuid4())
    name = _operation()
    if name is None:
        return None
    g.spapi_operation = name
    ctx = sim()
    ctx.operations.count(name, "calls")
    ctx.reports.run_schedules(ctx.clock.now())
    if ctx.faults.latency_seconds:
        time.sleep(ctx.faults.latency_seconds)
    try:
        seller = ctx.accounts.authenticate(request.headers.get("x-amz-access-token"))
    except AuthError as exc:
        ctx.count("unauthorized")
        return unauthorized(exc.details).response()
    if seller is None:  # a grantless token opens none of these operations
        ctx.count("unauthorized")
        return unauthorized("").response()
    g.spapi_seller = seller
    status = ctx.faults.take_failure()
    if status is not None:
        ctx.count("injected_failures")
        return internal_failure(status).response()
    if ctx.faults.take_throttle() or not ctx.limiter.take(seller.seller_id, name):
        ctx.operations.count(name, "throttled")
        return quota_exceeded().response()
    return None


def _after_request(response: Response) -> Response:
    if request.path.startswith("/_sim") or request.path == "/health":
        return response
    response.headers["x-amzn-RequestId"] = g.get("spapi_request_id") or str(uuid.uuid4())
    name = g.get("spapi_operation")
    succeeded = name is not None and 200 <= response.status_code < 300
    if succeeded and sim().operations.count(name, "succeeded") % 2 == 1:
        response.headers["x-amzn-RateLimit-Limit"] = sim().limiter.plans[name].header
    return response


def _register_error_handlers(app: Flask) -> None:
    """SP-API's errors shape for everything: the operations' errors, unknown paths (404), failures (500)."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if exc.code in (404, 405):
            return not_found("Resource not found.", f"No operation {request.method} {request.path}.").response()
        return ApiError(exc.code or 500, "InvalidInput" if (exc.code or 500) < 500 else "InternalFailure",
                        exc.name).response()

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return internal_failure().response()
