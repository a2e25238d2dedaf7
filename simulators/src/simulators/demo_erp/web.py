"""The demo ERP's web UI: server-rendered pages like a real workshop ERP's, for browser automation.

Same `Store` as the JSON API (a line added here shows in `/api` and `/_sim/state`, and vice versa), but
its own cookie sessions (`ErpContext.ui_sessions`, same TTL as the API's), CSRF tokens on every form and
the `ui_*` fault switches. Worksheet search results and order lines are loaded late by JavaScript from
HTML fragment endpoints (`/fragments/...`), 150-300 ms after the page, the way real ERPs do.

Sessions: the `erp_session` cookie (HttpOnly, SameSite=Lax, no Max-Age) holds a random server-side session
token. CSRF: the `erp_csrf` cookie holds a random per-browser secret; forms carry
`HMAC(app key, secret)` in the hidden `csrf_token` field (the key is random per app instance).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for

from .api import STATUS_BY_CODE, erp
from .store import (
    ErpError,
    InvalidCredentials,
    InvalidQuantity,
    InvalidReference,
    ProductNotFound,
    Session,
    SessionExpired,
    Unauthorized,
    UserInactive,
    Worksheet,
    WorksheetClosed,
    WorksheetNotFound,
)

WEB_EXTENSION_KEY = "demo_erp_web"
SESSION_COOKIE = "erp_session"
CSRF_COOKIE = "erp_csrf"
CSRF_FIELD = "csrf_token"

# The add-line form's element ids; `ui_changed_ids` swaps in the second set (the field *names* stay).
FORM_IDS = {"form": "add-line-form", "product_nr": "product-nr", "quantity": "quantity",
            "reference": "reference", "save": "save-line"}
CHANGED_FORM_IDS = {"form": "lineForm", "product_nr": "productNumber", "quantity": "qty",
                    "reference": "orderReference", "save": "submit-line"}

LINE_ADDED = "Order line added"
TEMPORARY_ERROR = "Temporary error, please try again"
INTERNAL_ERROR = "The ERP could not complete the request. Please try again later."
CSRF_ERROR = "Invalid or missing CSRF token. Reload the page and try again."

_CSRF_SECRET = re.compile(r"[A-Za-z0-9_-]{32,64}")
_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_LINE_FIELDS = ("product_nr", "quantity", "reference")

web = Blueprint("demo_erp_web", __name__, template_folder="templates")


@dataclass
class WebState:
    """Web-only state: the CSRF key and one-shot flash messages per session token."""

    csrf_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    flashes: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@web.record_once
def _install(setup_state: Any) -> None:
    setup_state.app.extensions.setdefault(WEB_EXTENSION_KEY, WebState())


def web_state() -> WebState:
    return current_app.extensions[WEB_EXTENSION_KEY]


# --- HTML error pages (also used by the app for routing errors outside /api and /_sim) ----------------


def error_page(status: int, message: str | None = None, code: str | None = None) -> tuple[str, int]:
    """A full HTML page: `<h1>` with the status phrase, `div#page-error` with `message` if given."""
    title = HTTPStatus(status).phrase
    return render_template("error.html", title=title, message=message, code=code, status=status), status


def is_ui_path(path: str) -> bool:
    """Whether errors on `path` are answered as HTML pages (everything but /api, /_sim and /health)."""
    return path.split("/", 2)[1:2] not in (["api"], ["_sim"], ["health"])


# --- request pipeline ---------------------------------------------------------------------------------


@web.before_request
def _count_and_inject_faults() -> tuple[str, int] | None:
    ctx = erp()
    ctx.store.count("ui_requests")
    if slow := ctx.faults.ui_slow_seconds:
        time.sleep(slow)
    if ctx.faults.take_ui_failure():
        return error_page(500, INTERNAL_ERROR, "internal_error")
    return None


@web.after_request
def _finish(response: Response) -> Response:
    if secret := g.get("new_csrf_secret"):
        response.set_cookie(CSRF_COOKIE, secret, httponly=True, samesite="Lax", path="/")
    response.headers["Cache-Control"] = "no-store"
    return response


@web.errorhandler(WorksheetNotFound)
def _worksheet_not_found(exc: WorksheetNotFound) -> tuple[str, int]:
    number = (request.view_args or {}).get("number", "")
    return error_page(404, f"Worksheet {number} not found", exc.code)


@web.context_processor
def _template_helpers() -> dict[str, Any]:
    session = g.get("ui_session")
    return {"csrf_token": csrf_token, "current_user": session.username if session else None}


# --- CSRF ---------------------------------------------------------------------------------------------


def _csrf_secret() -> str:
    secret = request.cookies.get(CSRF_COOKIE)
    if secret and _CSRF_SECRET.fullmatch(secret):
        return secret
    if "new_csrf_secret" not in g:
        g.new_csrf_secret = secrets.token_urlsafe(32)
    return g.new_csrf_secret


def _token_for(secret: str) -> str:
    return hmac.new(web_state().csrf_key, secret.encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """The hidden-field token for this browser (sets the CSRF cookie with the response if it is new)."""
    return _token_for(_csrf_secret())


def _csrf_failure() -> tuple[str, int] | None:
    """A 400 page unless the form carries the token that matches the browser's CSRF cookie."""
    secret = request.cookies.get(CSRF_COOKIE)
    given = request.form.get(CSRF_FIELD, "")
    if secret and _CSRF_SECRET.fullmatch(secret) and hmac.compare_digest(given.encode(), _token_for(secret).encode()):
        return None
    return error_page(400, CSRF_ERROR, "csrf")


# --- sessions -----------------------------------------------------------------------------------------


def _resolve_session() -> Session:
    """The live UI session of this browser; raises `Unauthorized` or `SessionExpired`."""
    return erp().ui_sessions.resolve(request.cookies.get(SESSION_COOKIE))


def _here() -> str:
    return request.full_path if request.query_string else request.path


def _to_login() -> Response:
    return redirect(url_for(".login", next=_here()), 303 if request.method == "POST" else 302)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pages: redirect to `/login?next=...` without a live session."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            g.ui_session = _resolve_session()
        except (Unauthorized, SessionExpired):
            return _to_login()
        return view(*args, **kwargs)

    return wrapper


def fragment_login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Fragments: 401 without a live session (the page's script then goes to the login page)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            g.ui_session = _resolve_session()
        except (Unauthorized, SessionExpired) as exc:
            message = "Your session has expired" if isinstance(exc, SessionExpired) else "Please log in"
            return render_template("_load_error.html", message=message), 401
        return view(*args, **kwargs)

    return wrapper


def _safe_next(value: str | None) -> str | None:
    """A local path to go to after login, or None (no open redirects, no login/logout loops)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(char) < 32 for char in value) or value.split("?")[0] in ("/login", "/logout"):
        return None
    return value


def _set_flash(message: str) -> None:
    state = web_state()
    with state.lock:
        state.flashes[g.ui_session.token] = message


def _pop_flash() -> str | None:
    state = web_state()
    with state.lock:
        return state.flashes.pop(g.ui_session.token, None)


# --- login, logout ------------------------------------------------------------------------------------


@web.get("/")
def index() -> Response:
    try:
        _resolve_session()
    except (Unauthorized, SessionExpired):
        return redirect(url_for(".login"))
    return redirect(url_for(".worksheets"))


@web.get("/login")
def login_form() -> str:
    try:
        _resolve_session()
        expired = False
    except SessionExpired:
        expired = True
    except Unauthorized:
        expired = False
    return render_template("login.html", next=_safe_next(request.args.get("next")), expired=expired,
                           error=None, username="")


@web.post("/login")
def login() -> Response | tuple[str, int]:
    if failure := _csrf_failure():
        return failure
    ctx = erp()
    next_url = _safe_next(request.form.get("next"))
    username = request.form.get("username", "")
    try:
        user = ctx.store.authenticate(username, request.form.get("password"), counter_prefix="ui_")
    except (InvalidCredentials, UserInactive) as exc:
        error = "User is inactive" if isinstance(exc, UserInactive) else "Invalid username or password"
        page = render_template("login.html", next=next_url, expired=False, error=error, username=username)
        return page, STATUS_BY_CODE[exc.code]
    ctx.ui_sessions.close(request.cookies.get(SESSION_COOKIE))
    session = ctx.ui_sessions.open(user.username)
    response = redirect(next_url or url_for(".worksheets"), 303)
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="Lax", path="/")
    return response


@web.get("/logout")
def logout() -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    erp().ui_sessions.close(token)
    if token:
        with web_state().lock:
            web_state().flashes.pop(token, None)
    response = redirect(url_for(".login"))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax")
    return response


# --- worksheets ---------------------------------------------------------------------------------------


@web.get("/worksheets")
@login_required
def worksheets() -> str:
    return render_template("worksheets.html", q=request.args.get("q", "").strip())


@web.get("/fragments/worksheets")
@fragment_login_required
def worksheet_results() -> str:
    query = request.args.get("q", "").strip()
    found = [sheet for sheet in erp().store.worksheets() if _matches(sheet, query)]
    return render_template("_worksheet_results.html", sheets=found)


def _matches(sheet: Worksheet, query: str) -> bool:
    """Empty query: everything; otherwise a substring of the number or (any case) of the customer."""
    return not query or query in sheet.number or query.casefold() in sheet.customer.casefold()


@web.get("/worksheets/<number>")
@login_required
def worksheet(number: str) -> str:
    sheet = erp().store.worksheet(number)
    return render_template("worksheet.html", sheet=sheet, flash=_pop_flash())


@web.get("/fragments/worksheets/<number>/lines")
@fragment_login_required
def order_lines(number: str) -> str:
    store = erp().store
    sheet = store.worksheet(number)
    units = {product.product_nr: product.unit for product in store.products()}
    return render_template("_order_lines.html", sheet=sheet, units=units)


# --- add an order line --------------------------------------------------------------------------------


@web.route("/worksheets/<number>/lines/new", methods=["GET", "POST"])
@login_required
def new_line(number: str) -> Response | str | tuple[str, int]:
    ctx = erp()
    sheet = ctx.store.worksheet(number)
    if request.method == "GET":
        return _line_form(sheet, dict.fromkeys(_LINE_FIELDS, ""))
    if failure := _csrf_failure():
        return failure
    values = {name: request.form.get(name, "") for name in _LINE_FIELDS}
    if ctx.faults.take_ui_error_banner():
        return _line_form(sheet, values, TEMPORARY_ERROR), 503
    try:
        ctx.store.add_line(number, values["product_nr"], values["quantity"], values["reference"])
    except (WorksheetClosed, ProductNotFound, InvalidQuantity, InvalidReference) as exc:
        return _line_form(sheet, values, _form_message(exc, number, values)), STATUS_BY_CODE[exc.code]
    ctx.store.count("ui_lines_created")
    if ctx.faults.take_ui_failure_after_save():
        return error_page(500, INTERNAL_ERROR, "internal_error")
    _set_flash(LINE_ADDED)
    return redirect(url_for(".worksheet", number=number), 303)


def _line_form(sheet: Worksheet, values: dict[str, str], error: str | None = None) -> str:
    ids = CHANGED_FORM_IDS if erp().faults.ui_changed_ids else FORM_IDS
    return render_template("line_form.html", sheet=sheet, values=values, error=error, ids=ids,
                           products=erp().store.products())


def _form_message(exc: ErpError, number: str, values: dict[str, str]) -> str:
    """The ERP's wording of a store validation error, as a user sees it."""
    if isinstance(exc, WorksheetClosed):
        return f"Worksheet {number} is closed"
    if isinstance(exc, ProductNotFound):
        return f"Unknown product {values['product_nr']}" if values["product_nr"].strip() else "Product is required"
    if isinstance(exc, InvalidQuantity):
        quantity = values["quantity"]
        if not quantity.strip():
            return "Quantity is required"
        if not _PLAIN_NUMBER.fullmatch(quantity.removeprefix("-")):
            return "Quantity must be a number, e.g. 4.5"
        if quantity.startswith("-"):
            return "Quantity must be a positive number"
    return exc.message[:1].upper() + exc.message[1:]
