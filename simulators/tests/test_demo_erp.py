"""The demo ERP simulator: every endpoint and error code, the fault switches, persistence, the CLI."""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from simulators.demo_erp.api import EXTENSION_KEY
from simulators.demo_erp.app import create_app
from simulators.demo_erp.store import InvalidQuantity, Sessions, Store, parse_quantity

LINE = {"product_nr": "10", "quantity": "4.5", "reference": "order-1001"}


@pytest.fixture
def app():
    app = create_app()
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(client) -> str:
    return login(client)


@pytest.fixture
def auth(token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str = "admin", password: str = "gygag") -> str:
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.json
    return response.json["token"]


def error_code(response) -> str:
    assert set(response.json) == {"error"}
    assert set(response.json["error"]) == {"code", "message"}
    return response.json["error"]["code"]


def add_line(client, auth, number: str = "558", **overrides):
    return client.post(f"/api/worksheets/{number}/lines", json=LINE | overrides, headers=auth)


def set_faults(client, **faults):
    response = client.post("/_sim/faults", json=faults)
    assert response.status_code == 200, response.json
    return response.json


# --- health, routing ----------------------------------------------------------------------------------


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"ok": True}


def test_unknown_route_and_wrong_method_answer_json_errors(client):
    assert error_code(client.get("/api/nope")) == "not_found"
    response = client.put("/health")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


# --- login and sessions -------------------------------------------------------------------------------


def test_login_returns_token_and_lifetime(client):
    response = client.post("/api/login", json={"username": "admin", "password": "gygag"})
    assert response.status_code == 200
    assert response.json["expires_in"] == 1800
    assert len(response.json["token"]) >= 32
    assert login(client) != response.json["token"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "admin", "password": "wrong"},
        {"username": "nobody", "password": "gygag"},
        {"username": "admin"},
        {"username": "disabled", "password": "wrong"},
        {"username": ["admin"], "password": "gygag"},
    ],
)
def test_login_rejects_bad_credentials(client, body):
    response = client.post("/api/login", json=body)
    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"


def test_login_rejects_inactive_user(client):
    response = client.post("/api/login", json={"username": "disabled", "password": "disabled"})
    assert response.status_code == 403
    assert error_code(response) == "user_inactive"


def test_login_needs_a_json_object(client):
    response = client.post("/api/login", data="username=admin&password=gygag")
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer unknown-token", "Basic YWRtaW46Z3lnYWc="])
def test_api_needs_a_known_bearer_token(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/products", headers=headers)
    assert response.status_code == 401
    assert error_code(response) == "unauthorized"


def test_session_expires_after_ttl(app, client, auth):
    sessions: Sessions = app.extensions[EXTENSION_KEY].sessions
    assert client.get("/api/products", headers=auth).status_code == 200
    now = time.monotonic()
    sessions.clock = lambda: now + 1800
    response = client.get("/api/products", headers=auth)
    assert response.status_code == 401
    assert error_code(response) == "session_expired"


def test_session_ttl_is_configurable():
    client = create_app(session_ttl=60).test_client()
    response = client.post("/api/login", json={"username": "admin", "password": "gygag"})
    assert response.json["expires_in"] == 60


def test_bearer_scheme_is_case_insensitive(client, token):
    assert client.get("/api/products", headers={"Authorization": f"bearer {token}"}).status_code == 200


# --- catalogue and worksheets -------------------------------------------------------------------------


def test_products(client, auth):
    response = client.get("/api/products", headers=auth)
    assert response.status_code == 200
    products = {p["product_nr"]: p for p in response.json["products"]}
    assert set(products) == {"10", "11", "12", "20"}
    assert products["10"] == {"product_nr": "10", "name": "Motor oil 5W-30", "unit": "litre",
                              "unit_price": "95.00"}
    assert products["20"]["unit"] == "piece"


def test_get_worksheet(client, auth):
    response = client.get("/api/worksheets/558", headers=auth)
    assert response.status_code == 200
    assert response.json == {"number": "558", "customer": "Benny Hansen", "status": "open", "lines": []}
    assert client.get("/api/worksheets/559", headers=auth).json["status"] == "closed"
    for number in range(560, 570):
        assert client.get(f"/api/worksheets/{number}", headers=auth).json["status"] == "open"


@pytest.mark.parametrize("path", ["/api/worksheets/999", "/api/worksheets/999/lines"])
def test_unknown_worksheet(client, auth, path):
    response = client.get(path, headers=auth)
    assert response.status_code == 404
    assert error_code(response) == "worksheet_not_found"


# --- order lines --------------------------------------------------------------------------------------


def test_add_line(client, auth):
    response = add_line(client, auth)
    assert response.status_code == 201
    line = response.json
    assert line["id"] == 1
    assert {k: line[k] for k in ("product_nr", "product_name", "quantity", "reference")} == {
        "product_nr": "10", "product_name": "Motor oil 5W-30", "quantity": "4.5", "reference": "order-1001"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", line["created_at"])
    assert client.get("/api/worksheets/558", headers=auth).json["lines"] == [line]


def test_references_are_not_deduplicated(client, auth):
    first = add_line(client, auth).json
    second = add_line(client, auth).json
    assert second["id"] == first["id"] + 1
    lines = client.get("/api/worksheets/558/lines?reference=order-1001", headers=auth).json["lines"]
    assert [line["id"] for line in lines] == [first["id"], second["id"]]


def test_lines_filter_by_exact_reference(client, auth):
    add_line(client, auth, reference="A-1")
    add_line(client, auth, reference="A-10")
    add_line(client, auth, number="560", reference="A-1")

    def refs(query: str) -> list[str]:
        response = client.get(f"/api/worksheets/558/lines{query}", headers=auth)
        assert response.status_code == 200
        return [line["reference"] for line in response.json["lines"]]

    assert refs("") == ["A-1", "A-10"]
    assert refs("?reference=A-1") == ["A-1"]
    assert refs("?reference=a-1") == []
    assert refs("?reference=B") == []


def test_add_line_to_unknown_worksheet(client, auth):
    response = add_line(client, auth, number="999")
    assert response.status_code == 404
    assert error_code(response) == "worksheet_not_found"


def test_add_line_to_closed_worksheet(client, auth):
    response = add_line(client, auth, number="559")
    assert response.status_code == 409
    assert error_code(response) == "worksheet_closed"


@pytest.mark.parametrize("product_nr", ["99", "", None, 10])
def test_add_line_unknown_product(client, auth, product_nr):
    response = add_line(client, auth, product_nr=product_nr)
    assert response.status_code == 422
    assert error_code(response) == "product_not_found"


@pytest.mark.parametrize(
    "quantity, stored",
    [("4.5", "4.5"), ("1", "1"), (2, "2"), (0.25, "0.25"), ("0.001", "0.001"), ("10000", "10000"),
     ("2.500", "2.5"), ("007", "7")],
)
def test_valid_quantities(client, auth, quantity, stored):
    response = add_line(client, auth, quantity=quantity)
    assert response.status_code == 201, response.json
    assert response.json["quantity"] == stored


@pytest.mark.parametrize(
    "quantity",
    ["0", "-1", -1, 0, "1.2345", 0.1 + 0.2, "10000.001", 10001, "abc", "", " 1", "1e3", "NaN", "Infinity",
     "+1", "1,5", None, True, [1], {"value": 1}],
)
def test_invalid_quantities(client, auth, quantity):
    response = add_line(client, auth, quantity=quantity)
    assert response.status_code == 422
    assert error_code(response) == "invalid_quantity"


@pytest.mark.parametrize("reference", [None, "", "   ", 42, "x" * 65])
def test_invalid_references(client, auth, reference):
    response = add_line(client, auth, reference=reference)
    assert response.status_code == 422
    assert error_code(response) == "invalid_reference"


def test_reference_of_64_characters_is_fine(client, auth):
    assert add_line(client, auth, reference="x" * 64).status_code == 201


def test_add_line_needs_a_json_object(client, auth):
    response = client.post("/api/worksheets/558/lines", json=["10", "1", "ref"], headers=auth)
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"


def test_failed_validation_stores_nothing(client, auth):
    add_line(client, auth, quantity="-1")
    add_line(client, auth, number="559")
    assert client.get("/_sim/state").json["counters"]["lines_created"] == 0
    assert add_line(client, auth).json["id"] == 1


def test_concurrent_adds_get_unique_ids():
    store = Store()

    def worker(n: int) -> None:
        for i in range(50):
            store.add_line("560", "20", "1", f"t{n}-{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [line.id for line in store.lines("560")]
    assert sorted(ids) == list(range(1, 401))


def test_parse_quantity_rejects_float_noise():
    with pytest.raises(InvalidQuantity):
        parse_quantity(1 / 3)


# --- /_sim: state, counters, reset --------------------------------------------------------------------


def test_state_shows_worksheets_counters_and_sessions(client, auth):
    add_line(client, auth)
    client.post("/api/login", json={"username": "admin", "password": "nope"})
    state = client.get("/_sim/state").json
    numbers = [sheet["number"] for sheet in state["worksheets"]]
    assert numbers == ["558", "559"] + [str(n) for n in range(560, 570)]
    assert state["worksheets"][0]["lines"][0]["reference"] == "order-1001"
    # requests: login, add line, failed login (the /_sim call itself is not an /api request)
    assert state["counters"] == {"requests": 3, "logins": 1, "failed_logins": 1, "lines_created": 1}
    assert state["active_sessions"] == 1
    assert state["faults"]["fail_next"] == 0


def test_reset_restores_demo_data_and_keeps_sessions(client, auth):
    add_line(client, auth)
    set_faults(client, latency_ms=5, fail_next=3)
    assert client.post("/_sim/reset").status_code == 200
    state = client.get("/_sim/state").json
    assert all(sheet["lines"] == [] for sheet in state["worksheets"])
    assert state["counters"]["requests"] == 0
    assert state["faults"] == {"latency_ms": 0, "fail_next": 0, "fail_status": 500, "fail_after_write": 0}
    assert add_line(client, auth).json["id"] == 1


def test_sim_endpoints_need_no_auth_and_are_not_counted(client):
    for _ in range(3):
        assert client.get("/_sim/state").status_code == 200
    assert client.get("/_sim/state").json["counters"]["requests"] == 0


# --- /_sim/faults -------------------------------------------------------------------------------------


def test_faults_default_and_merge(client):
    assert client.get("/_sim/faults").json == {"latency_ms": 0, "fail_next": 0, "fail_status": 500,
                                               "fail_after_write": 0}
    set_faults(client, latency_ms=10)
    assert set_faults(client, fail_next=2, fail_status=503) == {
        "latency_ms": 10, "fail_next": 2, "fail_status": 503, "fail_after_write": 0}
    response = client.delete("/_sim/faults")
    assert response.status_code == 200
    assert client.get("/_sim/faults").json["latency_ms"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"latency": 5},
        {"latency_ms": "5"},
        {"latency_ms": -1},
        {"latency_ms": 1.5},
        {"fail_next": True},
        {"fail_status": 200},
        {"fail_status": 600},
        {"expire_sessions": 1},
        {"fail_after_write": None},
        [1],
        None,
    ],
)
def test_invalid_fault_bodies(client, body):
    response = client.post("/_sim/faults", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert error_code(response) == "invalid_faults"
    assert client.get("/_sim/faults").json["fail_next"] == 0


def test_fault_body_must_be_json(client):
    response = client.post("/_sim/faults", data="fail_next=1")
    assert response.status_code == 400


def test_latency(client, auth):
    set_faults(client, latency_ms=150)
    started = time.perf_counter()
    assert client.get("/api/products", headers=auth).status_code == 200
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    client.get("/health")
    assert time.perf_counter() - started < 0.15


def test_fail_next_fails_the_next_n_api_requests(client, auth):
    set_faults(client, fail_next=2)
    for _ in range(2):
        response = add_line(client, auth)
        assert response.status_code == 500
        assert error_code(response) == "internal_error"
    assert client.get("/api/worksheets/558", headers=auth).json["lines"] == []
    assert add_line(client, auth).status_code == 201
    assert client.get("/_sim/faults").json["fail_next"] == 0


def test_fail_next_also_hits_login_and_unauthenticated_requests(client):
    set_faults(client, fail_next=2)
    assert client.post("/api/login", json={"username": "admin", "password": "gygag"}).status_code == 500
    assert client.get("/api/products").status_code == 500
    assert client.get("/api/products").status_code == 401


@pytest.mark.parametrize("status, code", [(503, "service_unavailable"), (429, "rate_limited")])
def test_fail_status_with_retry_after(client, auth, status, code):
    set_faults(client, fail_next=1, fail_status=status)
    response = client.get("/api/products", headers=auth)
    assert response.status_code == status
    assert error_code(response) == code
    assert response.headers["Retry-After"] == "1"


def test_fail_after_write_stores_the_line_then_fails(client, auth):
    set_faults(client, fail_after_write=1)
    assert add_line(client, auth, quantity="-1").status_code == 422  # a rejected line does not count
    response = add_line(client, auth)
    assert response.status_code == 500
    assert error_code(response) == "internal_error"
    lines = client.get("/api/worksheets/558/lines?reference=order-1001", headers=auth).json["lines"]
    assert len(lines) == 1
    assert add_line(client, auth).status_code == 201


def test_expire_sessions(client, auth):
    assert set_faults(client, expire_sessions=True)["fail_next"] == 0
    response = client.get("/api/products", headers=auth)
    assert response.status_code == 401
    assert error_code(response) == "session_expired"
    assert client.get("/_sim/state").json["active_sessions"] == 0
    new_token = login(client)
    assert client.get("/api/products", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200


# --- persistence --------------------------------------------------------------------------------------


def test_state_file_survives_a_restart(tmp_path):
    state_file = tmp_path / "erp" / "state.json"
    first = create_app(state_file=state_file).test_client()
    auth = {"Authorization": f"Bearer {login(first)}"}
    line = add_line(first, auth).json

    second = create_app(state_file=state_file).test_client()
    assert second.get("/api/worksheets/558", headers=auth).status_code == 401  # sessions are not persisted
    auth = {"Authorization": f"Bearer {login(second)}"}
    assert second.get("/api/worksheets/558", headers=auth).json["lines"] == [line]
    assert add_line(second, auth).json["id"] == line["id"] + 1
    assert [p.name for p in state_file.parent.iterdir()] == ["state.json"]  # no temp files left


def test_reset_is_persisted(tmp_path):
    state_file = tmp_path / "state.json"
    client = create_app(state_file=state_file).test_client()
    add_line(client, {"Authorization": f"Bearer {login(client)}"})
    client.post("/_sim/reset")
    assert Store(state_file).lines("558") == []


def test_unknown_state_file_version_is_refused(tmp_path):
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"version": 99}))
    with pytest.raises(ValueError, match="version"):
        Store(state_file)


# --- logging ------------------------------------------------------------------------------------------


def test_access_log_has_one_line_per_request_without_secrets(client, caplog):
    caplog.set_level(logging.INFO, logger="demo_erp")
    token = login(client)
    client.get("/api/worksheets/558/lines?reference=secret-ref", headers={"Authorization": f"Bearer {token}"})
    messages = [r.getMessage() for r in caplog.records if r.name == "demo_erp.access"]
    assert len(messages) == 2
    assert re.fullmatch(r"POST /api/login 200 \d+\.\dms", messages[0])
    assert re.fullmatch(r"GET /api/worksheets/558/lines 200 \d+\.\dms", messages[1])
    assert "gygag" not in caplog.text and token not in caplog.text


# --- the real CLI -------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_cli_serves_over_http_and_stops_on_sigterm(tmp_path):
    state_file = tmp_path / "state.json"
    log_file = tmp_path / "erp.log"
    with log_file.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulators.demo_erp.cli", "--port", "0", "--state-file", str(state_file),
             "--session-ttl", "120"],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    try:
        ready = proc.stdout.readline()
        match = re.fullmatch(r"demo-erp listening on (http://127\.0\.0\.1:\d+)\n", ready)
        assert match, f"unexpected first line {ready!r}; log: {log_file.read_text()}"
        base = match.group(1)

        assert requests.get(f"{base}/health", timeout=5).json() == {"ok": True}
        credentials = {"username": "admin", "password": "gygag"}
        response = requests.post(f"{base}/api/login", json=credentials, timeout=5)
        assert response.json()["expires_in"] == 120
        auth = {"Authorization": f"Bearer {response.json()['token']}"}
        response = requests.post(f"{base}/api/worksheets/558/lines", json=LINE, headers=auth, timeout=5)
        assert response.status_code == 201
        assert response.headers["Content-Type"] == "application/json"
        assert requests.get(f"{base}/api/worksheets/558", headers=auth, timeout=5).json()["lines"] == [
            response.json()]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)

    assert proc.returncode == 0
    assert out == "demo-erp stopped\n"
    assert json.loads(state_file.read_text())["worksheets"][0]["lines"][0]["reference"] == "order-1001"
    log = log_file.read_text()
    assert "POST /api/worksheets/558/lines 201" in log
    assert "gygag" not in log and auth["Authorization"].split()[1] not in log
