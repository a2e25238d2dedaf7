"""The process contract (docs/erp-orders.md, Endpoints) as erp-api serves it."""

import pytest

from hub_runtime.outbox import OutboxRelay


def test_probes_metrics_and_documentation_need_no_token(app):
    anonymous = app.test_client()
    alive = anonymous.get("/alive")
    assert alive.status_code == 200
    assert alive.json["api"] == "running" and alive.json["name"] == "Bennys Auto"
    assert alive.json["worker"]["state"] == "never_started"
    assert anonymous.get("/ready").json["database"] is True
    assert anonymous.get("/metrics").status_code == 200
    assert anonymous.get("/openapi.json").status_code == 200 and anonymous.get("/docs").status_code == 200


@pytest.mark.parametrize("path,method", [("/queue", "get"), ("/clear_queue", "put"), ("/create", "post"),
                                         ("/get_order_status", "get"), ("/stop_worker", "put"),
                                         ("/start_worker", "put"), ("/kill", "put")])
def test_everything_else_needs_the_bearer_token(app, path, method):
    anonymous = app.test_client()
    answer = getattr(anonymous, method)(path)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized"
    wrong = getattr(anonymous, method)(path, headers={"Authorization": "Bearer wrong-token-123456789"})
    assert wrong.status_code == 401


def test_queue_lists_pending_orders_without_secrets(client, order):
    client.post("/create", json=order)
    client.post("/create", json={**order, "uniqueid": "oilmat-0002"})
    answer = client.get("/queue")
    assert answer.json["length"] == 2
    assert [t["key"] for t in answer.json["tasks"]] == ["oilmat-0001", "oilmat-0002"]
    assert "gygag" not in answer.text and "admin" not in answer.text


def test_clear_queue_cancels_pending_orders_and_keeps_them_visible(client, app, order):
    client.post("/create", json=order)
    runtime = app.config["RUNTIME"]
    OutboxRelay(runtime.sessions, runtime.broker, runtime.instance.id).publish_pending()  # as the worker's relay
    assert runtime.broker.depth(runtime.queue) == 1
    answer = client.put("/clear_queue")
    assert answer.json["cancelled"] == 1 and answer.json["purged"] == 1
    assert client.get("/queue").json["length"] == 0
    status = client.get("/get_order_status?uniqueid=oilmat-0001").json
    assert status["status"] == "cancelled" and status["reason_code"] == "cancelled"


def test_stop_worker_records_the_request_even_without_a_worker(client):
    answer = client.put("/stop_worker")
    assert answer.status_code == 200
    assert answer.json["requested"] == "paused" and answer.json["confirmed"] is False
    assert client.get("/alive").json["worker"]["desired"] == "paused"


def test_unknown_route_and_method_are_json(client):
    assert client.get("/nope").json["error"]["code"] == "not_found"
    answer = client.get("/create")
    assert answer.status_code == 405 and answer.json["error"]["code"] == "method_not_allowed"


def test_request_id_is_echoed(client):
    assert client.get("/alive", headers={"X-Request-ID": "abc123"}).headers["X-Request-ID"] == "abc123"


def test_openapi_documents_every_route(client):
    doc = client.get("/openapi.json").json
    assert doc["openapi"].startswith("3.")
    for path in ("/create", "/get_order_status", "/alive", "/ready", "/metrics", "/queue", "/clear_queue",
                 "/start_worker", "/stop_worker", "/kill", "/openapi.json", "/docs"):
        assert path in doc["paths"], path
    create = doc["paths"]["/create"]["post"]
    schema = doc["components"]["schemas"][create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                                         .rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"workshop", "worksheet", "product_nr", "product_amount", "uniqueid"}
    assert {"username", "password"} <= set(schema["properties"])  # optional: the stored login stands in
    assert doc["paths"]["/queue"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in doc["paths"]["/alive"]["get"]
    artifact = doc["paths"]["/orders/{uniqueid}/artifacts/{name}"]["get"]
    assert {(p["name"], p["in"]) for p in artifact["parameters"]} == {("uniqueid", "path"), ("name", "path")}


def test_kill_answers_before_stopping(client):
    assert client.put("/kill").json == {"was_running": True, "stopping": True}


def test_replay_dead_letters_answers_for_the_queue_and_refuses_what_is_no_dead_letter(client, order):
    assert client.put("/replay_dead_letters").json == {"replayed": 0, "key": None, "status": None}
    unknown = client.put("/replay_dead_letters?key=nope")
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "task_not_found"
    assert client.post("/create", json=order).status_code == 200
    placed = client.put(f"/replay_dead_letters?key={order['uniqueid']}")
    assert placed.status_code == 409 and placed.json["error"]["code"] == "not_dead_lettered"
    assert "placed" in placed.json["error"]["message"]
