"""The demo ERP's web UI: login with CSRF, sessions, the late-loaded fragments, the add-line form and every
`ui_*` fault, through the Flask test client (which runs no JavaScript: fragments are fetched directly)."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from simulators.demo_erp.api import EXTENSION_KEY
from simulators.demo_erp.app import create_app
from simulators.demo_erp.web import CSRF_COOKIE, SESSION_COOKIE

API_FAULTS = {"latency_ms": 0, "fail_next": 0, "fail_status": 500, "fail_after_write": 0}
LINE = {"product_nr": "10", "quantity": "4.5", "reference": "order-1001"}
INTERNAL_SERVER_ERROR = "<h1>Internal Server Error</h1>"


# --- a tiny DOM for assertions, with the HTML checks every page must pass -----------------------------

VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    children: list[Element] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def walk(self):
        for child in self.children:
            yield child
            yield from child.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [el for el in self.walk() if (tag is None or el.tag == tag) and (cls is None or cls in el.classes)]

    def by_id(self, element_id: str) -> Element | None:
        return next((el for el in self.walk() if el.get("id") == element_id), None)

    def one(self, tag: str | None = None, cls: str | None = None) -> Element:
        found = self.find_all(tag, cls)
        assert len(found) == 1, f"expected one {tag}.{cls}, found {len(found)}"
        return found[0]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.stack = [self.root]
        self.errors: list[str] = []
        self.doctype: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        if len(attrs) != len(element.attrs):
            self.errors.append(f"duplicate attribute on <{tag}>")
        self.stack[-1].children.append(element)
        if tag not in VOID_TAGS:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        if len(self.stack) == 1 or self.stack[-1].tag != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-1].tag})")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for element in self.stack[1:]:
            element.text_parts.append(data)


def parse(html: str, fragment: bool = False) -> Element:
    """Parse a page (or fragment) and check it: balanced tags, unique ids, labels that point at fields."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    assert parser.errors == [], parser.errors
    assert parser.stack == [parser.root], f"unclosed: {[el.tag for el in parser.stack[1:]]}"
    root = parser.root
    ids = [el.get("id") for el in root.walk() if el.get("id") is not None]
    assert len(ids) == len(set(ids)), f"duplicate ids: {sorted(i for i in ids if ids.count(i) > 1)}"
    for label in root.find_all("label"):
        assert label.get("for") in ids, f"label for a missing id: {label.get('for')}"
    if not fragment:
        assert parser.doctype == "doctype html"
        html_el = root.one("html")
        assert html_el.get("lang") == "en"
        assert root.find_all("meta")[0].get("charset") == "utf-8"
        assert root.one("title").text
        for tag in root.find_all():
            for attr in ("src", "href"):
                value = tag.get(attr) or ""
                assert not re.match(r"(https?:)?//", value), f"external asset {value}"
    return root


# --- fixtures and helpers -----------------------------------------------------------------------------


@pytest.fixture
def app():
    app = create_app()
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def browser(client):
    """A logged-in browser."""
    response = ui_login(client)
    assert response.status_code == 303, response.text
    return client


def csrf_from(response) -> str:
    page = parse(response.text)
    token = [el for el in page.find_all("input") if el.get("name") == "csrf_token"]
    assert len(token) == 1 and token[0].get("type") == "hidden"
    return token[0].get("value")


def ui_login(client, username: str = "admin", password: str = "gygag", next_url: str | None = None):
    form_page = client.get("/login" + (f"?next={next_url}" if next_url else ""))
    data = {"username": username, "password": password, "csrf_token": csrf_from(form_page)}
    hidden_next = [el for el in parse(form_page.text).find_all("input") if el.get("name") == "next"]
    if hidden_next:
        data["next"] = hidden_next[0].get("value")
    return client.post("/login", data=data)


def post_line(client, number: str = "558", **overrides):
    form_page = client.get(f"/worksheets/{number}/lines/new")
    assert form_page.status_code == 200, form_page.status_code
    return client.post(f"/worksheets/{number}/lines/new",
                       data=LINE | overrides | {"csrf_token": csrf_from(form_page)})


def banner(response, element_id: str) -> str | None:
    element = parse(response.text).by_id(element_id)
    if element is None:
        return None
    assert "alert" in element.classes
    return element.text


def lines_fragment(client, number: str = "558") -> Element:
    response = client.get(f"/fragments/worksheets/{number}/lines")
    assert response.status_code == 200
    return parse(response.text, fragment=True)


def api_auth(client) -> dict[str, str]:
    response = client.post("/api/login", json={"username": "admin", "password": "gygag"})
    return {"Authorization": f"Bearer {response.json['token']}"}


def state(client) -> dict:
    return client.get("/_sim/state").json


def set_faults(client, **faults):
    response = client.post("/_sim/faults", json=faults)
    assert response.status_code == 200, response.json
    return response.json


def cookie_header(response, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


# --- start page, login, logout ------------------------------------------------------------------------


def test_start_page_redirects_to_login_or_worksheets(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.location == "/login"
    ui_login(client)
    assert client.get("/").location == "/worksheets"


def test_login_form(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    page = parse(response.text)
    form = page.by_id("login-form")
    assert form.get("method") == "post" and form.get("action") == "/login"
    assert {el.get("name") for el in form.find_all("input")} == {"csrf_token", "username", "password"}
    assert page.by_id("password").get("type") == "password"
    assert page.by_id("login-button") is not None
    assert page.by_id("login-error") is None and page.by_id("session-expired") is None
    csrf_cookie = cookie_header(response, CSRF_COOKIE)
    assert "HttpOnly" in csrf_cookie and "SameSite=Lax" in csrf_cookie
    assert response.headers["Cache-Control"] == "no-store"


def test_login_sets_an_httponly_session_cookie_and_counts_ui_logins(client):
    response = ui_login(client)
    assert response.status_code == 303
    assert response.location == "/worksheets"
    session_cookie = cookie_header(response, SESSION_COOKIE)
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Max-Age" not in session_cookie and "Expires" not in session_cookie  # expiry is server-side
    assert client.get("/worksheets").status_code == 200
    snapshot = state(client)
    assert snapshot["counters"]["ui_logins"] == 1
    assert snapshot["counters"]["logins"] == 0
    assert snapshot["ui_active_sessions"] == 1
    assert snapshot["active_sessions"] == 0


def test_ui_session_is_not_an_api_token(client):
    ui_login(client)
    token = client.get_cookie(SESSION_COOKIE).value
    response = client.get("/api/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("username, password", [("admin", "wrong"), ("nobody", "gygag"), ("", ""),
                                                ("disabled", "wrong")])
def test_wrong_credentials(client, username, password):
    response = ui_login(client, username, password)
    assert response.status_code == 401
    assert '<div class="alert alert-error" id="login-error">Invalid username or password</div>' in response.text
    page = parse(response.text)
    assert page.by_id("username").get("value") == username
    assert page.by_id("password").get("value") is None
    assert SESSION_COOKIE not in response.headers.get("Set-Cookie", "")
    assert client.get("/worksheets").status_code == 302
    assert state(client)["counters"]["ui_failed_logins"] == 1
    assert state(client)["counters"]["failed_logins"] == 0


def test_inactive_user(client):
    response = ui_login(client, "disabled", "disabled")
    assert response.status_code == 403
    assert banner(response, "login-error") == "User is inactive"


def test_login_keeps_next_through_a_failed_attempt(client):
    response = ui_login(client, password="wrong", next_url="/worksheets/558")
    assert [el.get("value") for el in parse(response.text).find_all("input") if el.get("name") == "next"] == [
        "/worksheets/558"]
    assert ui_login(client, next_url="/worksheets/558?x=1").location == "/worksheets/558?x=1"


@pytest.mark.parametrize("next_url", ["//evil.example/x", "https://evil.example/", "/login", "/logout",
                                      "/\\evil.example", "worksheets"])
def test_login_ignores_unsafe_next(client, next_url):
    page = client.get("/login", query_string={"next": next_url})
    response = client.post("/login", data={"username": "admin", "password": "gygag", "next": next_url,
                                           "csrf_token": csrf_from(page)})
    assert response.location == "/worksheets"


def test_logout(browser):
    response = browser.get("/logout")
    assert response.status_code == 302
    assert response.location == "/login"
    assert state(browser)["ui_active_sessions"] == 0
    response = browser.get("/worksheets")
    assert response.location == "/login?next=/worksheets"
    assert banner(browser.get(response.location), "session-expired") is None


def test_logging_in_again_replaces_the_old_session(browser):
    ui_login(browser)
    assert state(browser)["ui_active_sessions"] == 1


# --- CSRF ---------------------------------------------------------------------------------------------


def _csrf_400(response) -> None:
    assert response.status_code == 400
    page = parse(response.text)
    assert page.one("h1").text == "Bad Request"
    assert page.by_id("page-error").text.startswith("Invalid or missing CSRF token")


@pytest.mark.parametrize("token", [None, "", "nonsense", "0" * 64])
def test_login_needs_the_csrf_token(client, token):
    client.get("/login")
    data = {"username": "admin", "password": "gygag"} | ({"csrf_token": token} if token is not None else {})
    _csrf_400(client.post("/login", data=data))
    assert state(client)["ui_active_sessions"] == 0
    assert "ui_logins" not in state(client)["counters"]


def test_csrf_token_is_bound_to_the_browser(app):
    first, second = app.test_client(), app.test_client()
    token = csrf_from(first.get("/login"))
    second.get("/login")
    _csrf_400(second.post("/login", data={"username": "admin", "password": "gygag", "csrf_token": token}))
    no_cookie = app.test_client()
    _csrf_400(no_cookie.post("/login", data={"username": "admin", "password": "gygag", "csrf_token": token}))
    assert first.post("/login", data={"username": "admin", "password": "gygag", "csrf_token": token}).status_code \
        == 303


def test_add_line_needs_the_csrf_token(browser):
    _csrf_400(browser.post("/worksheets/558/lines/new", data=LINE))
    _csrf_400(browser.post("/worksheets/558/lines/new", data=LINE | {"csrf_token": "x"}))
    assert state(browser)["counters"]["lines_created"] == 0


def test_csrf_cookie_is_set_once(client):
    first = client.get("/login")
    assert CSRF_COOKIE in first.headers.get("Set-Cookie", "")
    second = client.get("/login")
    assert "Set-Cookie" not in second.headers
    assert csrf_from(first) == csrf_from(second)


# --- session expiry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/worksheets", "/worksheets?q=558", "/worksheets/558", "/worksheets/558/lines/new"])
def test_pages_redirect_to_login_without_a_session(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert banner(client.get(response.location), "session-expired") is None


@pytest.mark.parametrize("path", ["/fragments/worksheets", "/fragments/worksheets/558/lines"])
def test_fragments_answer_401_without_a_session(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert parse(response.text, fragment=True).by_id("load-error").text == "Please log in"


def test_expired_session_redirects_to_login_with_a_banner_and_back(app, browser):
    ui_sessions = app.extensions[EXTENSION_KEY].ui_sessions
    assert browser.get("/worksheets/558").status_code == 200
    now = time.monotonic()
    ui_sessions.clock = lambda: now + 1800
    response = browser.get("/worksheets/558")
    assert response.status_code == 302
    assert response.location == "/login?next=/worksheets/558"
    login_page = browser.get(response.location)
    assert '<div class="alert alert-warning" id="session-expired">Your session has expired</div>' in login_page.text
    fragment = browser.get("/fragments/worksheets/558/lines")
    assert fragment.status_code == 401
    assert "Your session has expired" in fragment.text

    response = ui_login(browser, next_url="/worksheets/558")
    assert response.location == "/worksheets/558"
    assert browser.get("/worksheets/558").status_code == 200


def test_expired_session_on_post_redirects_with_303(app, browser):
    form_page = browser.get("/worksheets/558/lines/new")
    set_faults(browser, ui_expire_sessions=True)
    response = browser.post("/worksheets/558/lines/new", data=LINE | {"csrf_token": csrf_from(form_page)})
    assert response.status_code == 303
    assert response.location == "/login?next=/worksheets/558/lines/new"
    assert state(browser)["counters"]["lines_created"] == 0


def test_ui_session_ttl_follows_the_session_ttl_setting():
    app = create_app(session_ttl=60)
    client = app.test_client()
    ui_login(client)
    ui_sessions = app.extensions[EXTENSION_KEY].ui_sessions
    assert ui_sessions.ttl == 60
    now = time.monotonic()
    ui_sessions.clock = lambda: now + 59
    assert client.get("/worksheets").status_code == 200
    ui_sessions.clock = lambda: now + 61
    assert client.get("/worksheets").status_code == 302


# --- worksheet search ---------------------------------------------------------------------------------


def test_worksheets_page_loads_its_results_late(browser):
    response = browser.get("/worksheets?q=558")
    assert response.status_code == 200
    page = parse(response.text)
    search = page.by_id("worksheet-search")
    assert search.get("name") == "q" and search.get("value") == "558"
    assert page.by_id("search-button") is not None
    assert page.by_id("worksheet-results") is None  # not in the page itself
    container = page.by_id("worksheet-results-container")
    assert container.get("data-src") == "/fragments/worksheets?q=558"
    assert container.by_id("results-loading").text == "Loading…"
    script = page.one("script").text
    assert "setTimeout" in script and "150 + Math.floor(Math.random() * 151)" in script
    assert page.by_id("current-user").text == "admin"


def _search(client, query: str | None) -> Element:
    response = client.get("/fragments/worksheets", query_string={"q": query} if query is not None else None)
    assert response.status_code == 200
    return parse(response.text, fragment=True)


@pytest.mark.parametrize(
    "query, numbers",
    [(None, ["558", "559"] + [str(n) for n in range(560, 570)]), ("558", ["558"]), (" 559 ", ["559"]),
     ("56", [str(n) for n in range(560, 570)]), ("benny", ["558"]), ("999", [])],
)
def test_search_fragment(browser, query, numbers):
    fragment = _search(browser, query)
    table = fragment.by_id("worksheet-results")
    links = table.find_all("a", "worksheet-link")
    assert [link.get("data-number") for link in links] == numbers
    assert [link.get("href") for link in links] == [f"/worksheets/{n}" for n in numbers]
    assert fragment.by_id("results-loaded").get("data-count") == str(len(numbers))
    assert (fragment.by_id("no-results") is not None) == (not numbers)


def test_search_results_show_customer_status_and_line_count(browser):
    post_line(browser)
    row = [r for r in _search(browser, "55").find_all("tr", "worksheet-row")]
    assert [(r.one(cls="customer").text, r.one(cls="status").text, r.one(cls="line-count").text) for r in row] == [
        ("Benny Hansen", "open", "1"), ("Karen Jensen", "closed", "0")]


# --- the worksheet page and its lines -----------------------------------------------------------------


def test_worksheet_page(browser):
    response = browser.get("/worksheets/558")
    assert response.status_code == 200
    page = parse(response.text)
    assert page.by_id("worksheet-number").text == "558"
    assert page.by_id("worksheet-customer").text == "Benny Hansen"
    assert page.by_id("worksheet-status").text == "open"
    assert page.by_id("add-line-button").get("href") == "/worksheets/558/lines/new"
    assert page.by_id("order-lines") is None and page.by_id("lines-loaded") is None  # rendered late
    container = page.by_id("order-lines-container")
    assert container.get("data-src") == "/fragments/worksheets/558/lines"
    assert container.by_id("lines-loading").text == "Loading…"
    assert page.by_id("flash") is None


def test_closed_worksheet_page_has_no_add_button(browser):
    page = parse(browser.get("/worksheets/559").text)
    assert page.by_id("worksheet-status").text == "closed"
    assert page.by_id("add-line-button") is None


def test_lines_fragment_shows_lines_added_through_the_api(browser):
    auth = api_auth(browser)
    first = browser.post("/api/worksheets/558/lines", json=LINE, headers=auth).json
    browser.post("/api/worksheets/558/lines", json={"product_nr": "20", "quantity": 1, "reference": "<b>x</b>"},
                 headers=auth)
    browser.post("/api/worksheets/560/lines", json=LINE, headers=auth)
    fragment = lines_fragment(browser)
    rows = fragment.by_id("order-lines").find_all("tr", "order-line")
    assert [row.get("data-line-id") for row in rows] == [str(first["id"]), str(first["id"] + 1)]
    cells = [[row.one("td", name).text for name in ("product-nr", "quantity", "reference", "unit")] for row in rows]
    assert cells == [["10", "4.5", "order-1001", "litre"], ["20", "1", "<b>x</b>", "piece"]]
    assert rows[1].get("data-reference") == "<b>x</b>"
    assert "&lt;b&gt;x&lt;/b&gt;" in browser.get("/fragments/worksheets/558/lines").text  # escaped
    assert fragment.by_id("lines-loaded").get("data-count") == "2"
    assert fragment.by_id("no-lines") is None


def test_lines_fragment_without_lines(browser):
    fragment = lines_fragment(browser, "559")
    assert fragment.by_id("order-lines").find_all("tr", "order-line") == []
    assert fragment.by_id("no-lines") is not None
    assert fragment.by_id("lines-loaded").get("data-count") == "0"


@pytest.mark.parametrize("path", ["/worksheets/999", "/worksheets/999/lines/new", "/fragments/worksheets/999/lines"])
def test_unknown_worksheet(browser, path):
    response = browser.get(path)
    assert response.status_code == 404
    assert '<div class="alert alert-error" id="page-error" data-error="worksheet_not_found">Worksheet 999 not found' \
           '</div>' in response.text
    parse(response.text)


def test_unknown_ui_path_answers_an_html_page_and_api_paths_stay_json(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    assert parse(response.text).by_id("page-error").text == "Page not found"
    response = client.put("/login")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert client.get("/api/nope").json["error"]["code"] == "not_found"
    assert client.put("/health").json["error"]["code"] == "method_not_allowed"


# --- adding a line ------------------------------------------------------------------------------------


def test_add_line_form(browser):
    response = browser.get("/worksheets/558/lines/new")
    page = parse(response.text)
    form = page.by_id("add-line-form")
    assert form.get("method") == "post" and form.get("action") == "/worksheets/558/lines/new"
    fields = {el.get("id"): el.get("name") for el in form.find_all("input")}
    assert {k: v for k, v in fields.items() if k} == {"product-nr": "product_nr", "quantity": "quantity",
                                                        "reference": "reference"}
    assert all(el.get("maxlength") is None and el.get("required") is None for el in form.find_all("input"))
    assert form.by_id("save-line").get("type") == "submit"
    assert page.by_id("form-error") is None


def test_add_line(browser):
    response = post_line(browser)
    assert response.status_code == 303
    assert response.location == "/worksheets/558"
    page = browser.get("/worksheets/558")
    assert '<div class="alert alert-success" id="flash">Order line added</div>' in page.text
    assert banner(browser.get("/worksheets/558"), "flash") is None  # shown once

    lines = browser.get("/api/worksheets/558/lines", headers=api_auth(browser)).json["lines"]
    assert [(line["product_nr"], line["quantity"], line["reference"]) for line in lines] == [
        ("10", "4.5", "order-1001")]
    snapshot = state(browser)
    assert snapshot["worksheets"][0]["lines"] == lines
    assert snapshot["counters"]["lines_created"] == 1
    assert snapshot["counters"]["ui_lines_created"] == 1
    row = lines_fragment(browser).one("tr", "order-line")
    assert row.get("data-line-id") == str(lines[0]["id"])


def test_add_line_does_not_deduplicate(browser):
    post_line(browser)
    post_line(browser)
    assert len(lines_fragment(browser).find_all("tr", "order-line")) == 2


@pytest.mark.parametrize(
    "overrides, status, message",
    [
        ({"product_nr": "999"}, 422, "Unknown product 999"),
        ({"product_nr": ""}, 422, "Product is required"),
        ({"quantity": "0"}, 422, "Quantity must be a positive number"),
        ({"quantity": "-1"}, 422, "Quantity must be a positive number"),
        ({"quantity": "-0.5"}, 422, "Quantity must be a positive number"),
        ({"quantity": "abc"}, 422, "Quantity must be a number, e.g. 4.5"),
        ({"quantity": "1,5"}, 422, "Quantity must be a number, e.g. 4.5"),
        ({"quantity": " 1"}, 422, "Quantity must be a number, e.g. 4.5"),
        ({"quantity": "1e3"}, 422, "Quantity must be a number, e.g. 4.5"),
        ({"quantity": ""}, 422, "Quantity is required"),
        ({"quantity": "1.2345"}, 422, "Quantity must have at most 3 decimals"),
        ({"quantity": "10001"}, 422, "Quantity must not exceed 10000"),
        ({"reference": ""}, 422, "Reference is required"),
        ({"reference": "   "}, 422, "Reference is required"),
        ({"reference": "x" * 65}, 422, "Reference must be at most 64 characters"),
    ],
)
def test_add_line_validation_errors(browser, overrides, status, message):
    response = post_line(browser, **overrides)
    assert response.status_code == status
    assert f'<div class="alert alert-error" id="form-error">{message}</div>' in response.text
    page = parse(response.text)
    expected = LINE | overrides
    assert [page.by_id(i).get("value") for i in ("product-nr", "quantity", "reference")] == [
        expected["product_nr"], expected["quantity"], expected["reference"]]
    assert state(browser)["counters"]["lines_created"] == 0


def test_add_line_accepts_what_the_api_accepts(browser):
    assert post_line(browser, quantity="2.500", reference="x" * 64).status_code == 303
    assert lines_fragment(browser).one("td", "quantity").text == "2.5"


def test_add_line_missing_fields(browser):
    token = csrf_from(browser.get("/worksheets/558/lines/new"))
    response = browser.post("/worksheets/558/lines/new", data={"csrf_token": token})
    assert response.status_code == 422
    assert banner(response, "form-error") == "Product is required"


def test_closed_worksheet(browser):
    response = post_line(browser, number="559")
    assert response.status_code == 409
    assert '<div class="alert alert-error" id="form-error">Worksheet 559 is closed</div>' in response.text
    assert state(browser)["counters"]["lines_created"] == 0


# --- /_sim/faults: the ui_* switches ------------------------------------------------------------------


def test_ui_faults_are_listed_only_while_set(client):
    assert client.get("/_sim/faults").json == API_FAULTS
    assert set_faults(client, ui_slow_ms=10, ui_changed_ids=True) == API_FAULTS | {"ui_slow_ms": 10,
                                                                                   "ui_changed_ids": True}
    assert set_faults(client, ui_error_banner=2, ui_slow_ms=0)["ui_error_banner"] == 2
    assert state(client)["faults"] == API_FAULTS | {"ui_changed_ids": True, "ui_error_banner": 2}
    assert client.delete("/_sim/faults").json == API_FAULTS
    set_faults(client, ui_fail_next=1, ui_fail_after_save=1)
    client.post("/_sim/reset")
    assert client.get("/_sim/faults").json == API_FAULTS


@pytest.mark.parametrize(
    "body",
    [{"ui_slow_ms": "5"}, {"ui_slow_ms": -1}, {"ui_slow_ms": 60_001}, {"ui_changed_ids": 1},
     {"ui_changed_ids": None}, {"ui_expire_sessions": "yes"}, {"ui_error_banner": True},
     {"ui_fail_next": 1.5}, {"ui_fail_after_save": -1}, {"ui_unknown": 1}],
)
def test_invalid_ui_fault_bodies(client, body):
    response = client.post("/_sim/faults", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_faults"
    assert client.get("/_sim/faults").json == API_FAULTS


def test_ui_slow_ms_slows_pages_and_fragments_but_not_the_api(browser):
    set_faults(browser, ui_slow_ms=150)
    for path in ("/worksheets", "/fragments/worksheets", "/worksheets/558", "/fragments/worksheets/558/lines"):
        started = time.perf_counter()
        assert browser.get(path).status_code == 200
        assert time.perf_counter() - started >= 0.15, path
    auth = api_auth(browser)
    started = time.perf_counter()
    assert browser.get("/api/products", headers=auth).status_code == 200
    assert time.perf_counter() - started < 0.15


def test_ui_expire_sessions_expires_ui_sessions_only(browser):
    auth = api_auth(browser)
    assert set_faults(browser, ui_expire_sessions=True) == API_FAULTS  # an action, not a setting
    assert state(browser)["ui_active_sessions"] == 0
    response = browser.get("/worksheets/558")
    assert response.location == "/login?next=/worksheets/558"
    assert banner(browser.get(response.location), "session-expired") == "Your session has expired"
    assert browser.get("/api/products", headers=auth).status_code == 200
    assert ui_login(browser).status_code == 303
    assert browser.get("/worksheets/558").status_code == 200


def test_api_expire_sessions_leaves_ui_sessions_alone(browser):
    set_faults(browser, expire_sessions=True)
    assert browser.get("/worksheets/558").status_code == 200


def test_ui_changed_ids(browser):
    set_faults(browser, ui_changed_ids=True)
    page = parse(browser.get("/worksheets/558/lines/new").text)
    for old in ("add-line-form", "product-nr", "quantity", "reference", "save-line"):
        assert page.by_id(old) is None, old
    assert {el.get("id"): el.get("name") for el in page.by_id("lineForm").find_all("input") if el.get("id")} == {
        "productNumber": "product_nr", "qty": "quantity", "orderReference": "reference"}
    assert page.by_id("submit-line").get("type") == "submit"
    # the field names are unchanged, so a script that fills fields by name still saves the line
    response = post_line(browser, product_nr="999")
    assert response.status_code == 422
    assert parse(response.text).by_id("productNumber").get("value") == "999"
    assert post_line(browser).status_code == 303
    set_faults(browser, ui_changed_ids=False)
    assert parse(browser.get("/worksheets/558/lines/new").text).by_id("product-nr") is not None


def test_ui_error_banner(browser):
    set_faults(browser, ui_error_banner=2)
    for remaining in (1, 0):
        response = post_line(browser)
        assert response.status_code == 503
        assert '<div class="alert alert-error" id="form-error">Temporary error, please try again</div>' in \
            response.text
        assert parse(response.text).by_id("reference").get("value") == "order-1001"
        assert browser.get("/_sim/faults").json.get("ui_error_banner", 0) == remaining
    assert state(browser)["counters"]["lines_created"] == 0
    assert post_line(browser).status_code == 303
    assert state(browser)["counters"]["lines_created"] == 1


def test_ui_error_banner_is_not_consumed_by_form_views_or_csrf_failures(browser):
    set_faults(browser, ui_error_banner=1)
    browser.get("/worksheets/558/lines/new")
    browser.post("/worksheets/558/lines/new", data=LINE)
    assert browser.get("/_sim/faults").json["ui_error_banner"] == 1


def test_ui_fail_next(browser):
    set_faults(browser, ui_fail_next=3)
    for path in ("/worksheets/558", "/fragments/worksheets/558/lines", "/login"):
        response = browser.get(path)
        assert response.status_code == 500
        assert INTERNAL_SERVER_ERROR in response.text
        assert parse(response.text).by_id("page-error").get("data-error") == "internal_error"
    assert browser.get("/worksheets/558").status_code == 200
    assert browser.get("/api/products", headers=api_auth(browser)).status_code == 200


def test_ui_fail_next_saves_nothing_and_leaves_the_api_alone(browser):
    form_page = browser.get("/worksheets/558/lines/new")
    set_faults(browser, ui_fail_next=1)
    auth = api_auth(browser)
    assert browser.get("/api/products", headers=auth).status_code == 200
    response = browser.post("/worksheets/558/lines/new", data=LINE | {"csrf_token": csrf_from(form_page)})
    assert response.status_code == 500
    assert state(browser)["counters"]["lines_created"] == 0
    assert "ui_fail_next" not in browser.get("/_sim/faults").json


def test_api_faults_leave_the_ui_alone(browser):
    set_faults(browser, fail_next=1, latency_ms=200)
    started = time.perf_counter()
    assert browser.get("/worksheets/558").status_code == 200
    assert time.perf_counter() - started < 0.2
    assert browser.get("/_sim/faults").json["fail_next"] == 1


def test_ui_fail_after_save(browser):
    set_faults(browser, ui_fail_after_save=1)
    assert post_line(browser, quantity="0").status_code == 422  # a rejected line does not count
    response = post_line(browser)
    assert response.status_code == 500
    assert INTERNAL_SERVER_ERROR in response.text
    assert [line["reference"] for line in state(browser)["worksheets"][0]["lines"]] == ["order-1001"]
    assert banner(browser.get("/worksheets/558"), "flash") is None
    assert post_line(browser).status_code == 303
    assert len(state(browser)["worksheets"][0]["lines"]) == 2


def test_ui_requests_are_counted_apart_from_api_requests(browser):
    before = state(browser)["counters"]
    browser.get("/worksheets")
    browser.get("/fragments/worksheets")
    after = state(browser)["counters"]
    assert after["ui_requests"] == before["ui_requests"] + 2
    assert after["requests"] == before["requests"] == 0


def test_reset_keeps_ui_sessions(browser):
    post_line(browser)
    browser.post("/_sim/reset")
    assert browser.get("/worksheets/558").status_code == 200
    assert lines_fragment(browser).find_all("tr", "order-line") == []


# --- logging ------------------------------------------------------------------------------------------


def test_access_log_has_no_passwords_session_ids_or_csrf_tokens(client, caplog):
    caplog.set_level(logging.INFO, logger="demo_erp")
    ui_login(client, next_url="/worksheets/558")
    post_line(client)
    session_id = client.get_cookie(SESSION_COOKIE).value
    csrf_secret = client.get_cookie(CSRF_COOKIE).value
    token = csrf_from(client.get("/worksheets/558/lines/new"))
    messages = [r.getMessage() for r in caplog.records if r.name == "demo_erp.access"]
    assert messages[0].startswith("GET /login 200 ")
    assert re.fullmatch(r"POST /login 303 \d+\.\dms", messages[1])
    for secret in ("gygag", session_id, csrf_secret, token, "next="):
        assert secret not in caplog.text
