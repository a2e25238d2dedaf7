"""erp-api through the Flask test client, on SQLite and on PostgreSQL."""

import json

import pytest
from pydantic import Secret

from erp_api.app import create_app
from hub_runtime.models import OutboxMessage, Task


def test_create_stores_the_order_and_its_outbox_message(client, app, order):
    answer = client.post("/create", json=order)
    assert answer.status_code == 200, answer.json
    assert answer.json == {"uniqueid": "oilmat-0001", "status": "placed", "duplicate": False,
                           "message": "order queued"}
    runtime = app.config["RUNTIME"]
    with runtime.sessions() as session:
        task = session.query(Task).one()
        outbox = session.query(OutboxMessage).one()
    assert task.payload == {"workshop": "Bennys Auto", "worksheet": "558", "product_nr": "10",
                            "product_amount": "5", "uniqueid": "oilmat-0001"}
    assert "gygag" not in (task.secret or "") and runtime.box.decrypt(task.secret)["password"] == "gygag"
    assert json.loads(outbox.body)["task_id"] == task.id


def test_status_reads_placed_with_history(client, order):
    client.post("/create", json=order)
    answer = client.get("/get_order_status", query_string={"uniqueid": "oilmat-0001"})
    assert answer.status_code == 200
    assert answer.json["status"] == "placed"
    assert answer.json["order"]["worksheet"] == "558"
    assert [h["status"] for h in answer.json["history"]] == ["placed"]
    assert "password" not in answer.text and "gygag" not in answer.text


def test_numbers_are_accepted_as_numbers(client, order):
    order.update(worksheet=558, product_nr=10, product_amount=4.5)
    assert client.post("/create", json=order).status_code == 200
    status = client.get("/get_order_status?uniqueid=oilmat-0001").json
    assert status["order"]["product_amount"] == "4.5" and status["order"]["worksheet"] == "558"


def test_missing_and_invalid_fields_are_each_named(client, order):
    del order["worksheet"]
    order["product_amount"] = "-3"
    order["uniqueid"] = "has spaces"
    answer = client.post("/create", json=order)
    assert answer.status_code == 400
    fields = answer.json["error"]["fields"]
    assert set(fields) == {"worksheet", "product_amount", "uniqueid"}
    assert fields["worksheet"] == "is required"


def test_the_password_is_never_echoed_in_errors(client, order):
    order["password"] = ""
    order["product_amount"] = "not-a-number"
    answer = client.post("/create", json=order)
    assert answer.status_code == 400 and "password" in answer.json["error"]["fields"]
    assert "not-a-number" not in answer.text


def test_not_json_is_a_400(client):
    answer = client.post("/create", data="workshop=x", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_json"
    assert client.post("/create", json=[1, 2]).status_code == 400


def test_an_order_for_another_workshop_is_refused(client, order):
    order["workshop"] = "Other Garage"
    answer = client.post("/create", json=order)
    assert answer.status_code == 400 and answer.json["error"]["code"] == "wrong_workshop"
    assert client.get("/queue").json["length"] == 0


def test_same_uniqueid_same_body_returns_the_existing_order(client, app, order):
    first = client.post("/create", json=order)
    second = client.post("/create", json={**order, "workshop": " Bennys Auto "})
    assert second.status_code == 200 and second.json["duplicate"] is True
    assert first.json["uniqueid"] == second.json["uniqueid"]
    with app.config["RUNTIME"].sessions() as session:
        assert session.query(Task).count() == 1 and session.query(OutboxMessage).count() == 1


def test_same_uniqueid_other_body_is_a_409(client, order):
    client.post("/create", json=order)
    for change in ({"product_amount": "6"}, {"password": "other"}):
        answer = client.post("/create", json={**order, **change})
        assert answer.status_code == 409 and answer.json["error"]["code"] == "uniqueid_conflict"


def test_unknown_order_is_a_404_and_missing_id_a_400(client):
    assert client.get("/get_order_status?uniqueid=nope").status_code == 404
    answer = client.get("/get_order_status")
    assert answer.status_code == 400 and "uniqueid" in answer.json["error"]["fields"]


def test_artifacts_are_listed_and_served_but_never_outside_their_folder(client, app, order):
    from hub_runtime.artifacts import ArtifactStore

    client.post("/create", json=order)
    runtime = app.config["RUNTIME"]
    task = runtime.tasks.find("oilmat-0001")
    ArtifactStore(runtime.settings.artifact_dir).write(task.id, "a1-screenshot.png", b"\x89PNG")
    status = client.get("/get_order_status?uniqueid=oilmat-0001").json
    assert status["artifacts"] == [{"name": "a1-screenshot.png", "size": 4,
                                    "url": "/orders/oilmat-0001/artifacts/a1-screenshot.png"}]
    served = client.get(status["artifacts"][0]["url"])
    assert served.data == b"\x89PNG"
    # never rendered in the API's origin: a download, not sniffed, sandboxed if a browser shows it anyway
    assert served.headers["Content-Disposition"] == "attachment; filename=a1-screenshot.png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert client.get("/orders/oilmat-0001/artifacts/..%2Fsecret.key").status_code == 404
    assert client.get("/orders/nope/artifacts/a1-screenshot.png").status_code == 404
    assert app.test_client().get(status["artifacts"][0]["url"]).status_code == 401


def test_names_without_letters_and_broken_unicode_are_400_not_500(client, order):
    assert client.post("/create", json={**order, "workshop": "ò/ß"}).json["error"]["code"] == "wrong_workshop"
    answer = client.post("/create", data='{"workshop": "Bennys Auto", "worksheet": "558", "product_nr": "10", '
                         '"product_amount": "5", "uniqueid": "u1", "username": "\\ud800", "password": "\\udfff"}',
                         content_type="application/json")
    assert answer.status_code == 400 and set(answer.json["error"]["fields"]) == {"username", "password"}


def test_concurrent_posts_of_one_uniqueid_store_one_order(app, api_token, order):
    """Requests arriving together are group-committed: one stores the order, the same body gets the
    existing order, another body 409, and different uniqueids are each stored."""
    import threading

    bodies = [order] * 6 + [{**order, "product_amount": "7"}] * 2 + \
             [{**order, "uniqueid": f"other-{i}"} for i in range(8)]
    answers: list = [None] * len(bodies)

    def post(i):
        client = app.test_client()
        answers[i] = client.post("/create", json=bodies[i], headers={"Authorization": f"Bearer {api_token}"})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    same = [a for a in answers[:8] if a.status_code == 200]
    assert sum(not a.json["duplicate"] for a in same) == 1
    assert all(a.status_code in (200, 409) for a in answers[:8])
    assert all(a.status_code == 200 and not a.json["duplicate"] for a in answers[8:])
    with app.config["RUNTIME"].sessions() as session:
        stored = session.query(Task).filter(Task.key == "oilmat-0001").one()
        assert session.query(Task).count() == 9 and session.query(OutboxMessage).count() == 9
    winner = json.loads(stored.payload) if isinstance(stored.payload, str) else stored.payload
    conflicts = sum(a.status_code == 409 for a in answers[:8])
    assert conflicts == (6 if winner["product_amount"] == "7" else 2)


def test_one_log_line_per_accepted_order_with_uniqueid_and_no_secret(client, order, caplog):
    from hub_runtime.jsonlog import JsonFormatter

    caplog.set_level("INFO")
    assert client.post("/create", json=order).status_code == 200
    assert client.post("/create", json=order).status_code == 200  # the duplicate
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    about = [line for line in lines if line.get("uniqueid") == "oilmat-0001"]
    assert [line["msg"] for line in about] == ["POST /create 200: order accepted",
                                               "POST /create 200: duplicate order; answered with the existing one"]
    assert about[0]["worksheet"] == "558" and about[0]["amount"] == "5" and about[0]["status"] == 200
    assert about[0]["request_id"] and "ms" in about[0]
    assert "gygag" not in json.dumps(lines)


def test_default_worker_processes():
    from hub_runtime.web.serve import default_workers

    assert default_workers({}) == 1
    assert default_workers({"HUB_API_WORKERS": "3"}) == 3
    assert default_workers({"HUB_API_WORKERS": " "}) == 1
    for bad in ("two", "0"):
        with pytest.raises(SystemExit):
            default_workers({"HUB_API_WORKERS": bad})


def test_the_database_away_is_a_503_to_retry_then_the_same_order_goes_through(fresh_postgres_url, tmp_path,
                                                                                api_token, queue_prefix, order):
    from sqlalchemy.engine import make_url

    from erp_api.app import create_app
    from hub_runtime.config import RuntimeSettings
    from hub_runtime.testing.tcp_proxy import TcpProxy

    url = make_url(fresh_postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        settings = RuntimeSettings(database_url=url.set(port=proxy.port).render_as_string(hide_password=False),
                                   data_dir=tmp_path / "data", api_token=api_token, queue_prefix=queue_prefix,
                                   _env_file=None)
        app = create_app(settings, "Bennys Auto")
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_token}"
        try:
            proxy.cut()
            for answer in (client.post("/create", json=order),
                           client.get("/get_order_status", query_string={"uniqueid": order["uniqueid"]})):
                assert answer.status_code == 503 and answer.headers["Retry-After"] == "5", answer.json
                assert answer.json["error"]["code"] == "database_unavailable"
                assert order["password"] not in answer.get_data(as_text=True)
            assert client.get("/alive").status_code == 200  # liveness does not depend on the database
            proxy.restore()
            again = client.post("/create", json=order)
            assert again.status_code == 200 and again.json["status"] == "placed", again.json
        finally:
            app.config["RUNTIME"].close()


def test_an_order_without_login_is_refused_while_the_workshop_has_none_stored(client, order):
    del order["username"], order["password"]
    answer = client.post("/create", json=order)
    assert answer.status_code == 400 and answer.json["error"]["code"] == "credentials_missing"
    assert set(answer.json["error"]["fields"]) == {"username", "password"}


def test_half_a_login_is_a_400_naming_the_missing_half(client, order):
    del order["password"]
    answer = client.post("/create", json=order)
    assert answer.status_code == 400 and "password is missing" in answer.json["error"]["fields"]["body"]
    assert "admin" not in answer.text


def test_an_order_without_login_is_stored_without_secret_when_the_workshop_has_one(settings, api_token, order):
    stored = settings.model_copy(update={"credentials": Secret({"username": "stored", "password": "s3cret"})})
    app = create_app(stored, "Bennys Auto")
    try:
        client = app.test_client()
        del order["username"], order["password"]
        answer = client.post("/create", json=order, headers={"Authorization": f"Bearer {api_token}"})
        assert answer.status_code == 200, answer.json
        task = app.config["RUNTIME"].tasks.find(order["uniqueid"])
        assert task.status == "placed" and app.config["RUNTIME"].tasks.secret_of(task.id) == {}
    finally:
        app.config["RUNTIME"].close()
