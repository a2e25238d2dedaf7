"""The manager's control API through the Flask test client: validation, auth, no secrets."""

import pytest
from sqlalchemy.exc import OperationalError

from hub_runtime.config import RuntimeSettings
from hub_runtime.runtime import Instance, Runtime
from manager.app import create_app
from manager.settings import ManagerSettings


@pytest.fixture
def client(tmp_path):
    settings = ManagerSettings(api_token="t" * 20, data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/m.db",
                               port_range_start=30000, port_range_end=30003, _env_file=None)
    app = create_app(settings)
    app.testing = True
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + "t" * 20
    yield client
    app.config["MANAGER"].supervisor.shutdown()


ERP = {"kind": "erp", "name": "Bennys Auto", "settings": {"adapter": "http", "base_url": "http://127.0.0.1:1"}}


def test_create_show_and_list_never_return_secrets(client):
    created = client.post("/integrations", json={**ERP, "credentials": {"username": "u", "password": "pw-secret"}})
    assert created.status_code == 201
    body = created.json
    assert body["id"] == "erp-bennys-auto" and body["has_credentials"] and len(body["api_token"]) >= 24
    assert (body["api_port"], body["probe_port"]) == (30000, 30001)
    for text in (client.get("/integrations").text, client.get("/integrations/erp-bennys-auto").text):
        assert "pw-secret" not in text and body["api_token"] not in text
    detail = client.get("/integrations/erp-bennys-auto").json
    assert detail["health"]["state"] == "stopped" and detail["history"][0]["event"] == "created"


@pytest.mark.parametrize("body,field", [
    ({**ERP, "kind": "nope"}, "kind"),
    ({**ERP, "settings": {"adapter": "http"}}, "settings.base_url"),
    ({**ERP, "settings": {"adapter": "ftp", "base_url": "http://x"}}, "settings.adapter"),
    ({**ERP, "settings": {**ERP["settings"], "colour": "red"}}, "settings.colour"),
    ({**ERP, "settings": {"adapter": "http", "base_url": "http://admin:gygag@127.0.0.1:1"}}, "settings.base_url"),
    ({**ERP, "settings": {"adapter": "http", "base_url": "http://erp.example.com"}}, "settings.base_url"),
    ({**ERP, "credentials": {"username": "u"}}, "credentials.password"),
    ({**ERP, "name": ""}, "name"),
    ({**ERP, "name": "!!!"}, "name"),
    ({**ERP, "api_port": 80}, "api_port"),
])
def test_bad_input_is_a_400_naming_the_field(client, body, field):
    answer = client.post("/integrations", json=body)
    assert answer.status_code == 400, answer.json
    assert field in answer.json["error"]["fields"]
    assert "gygag" not in answer.get_data(as_text=True)
    assert client.get("/integrations").json["integrations"] == []


def test_duplicates_unknown_ids_and_port_exhaustion(client):
    assert client.post("/integrations", json=ERP).status_code == 201
    assert client.post("/integrations", json=ERP).status_code == 409
    assert client.get("/integrations/erp-nope").status_code == 404
    assert client.put("/integrations/erp-nope/start").status_code == 404
    assert client.post("/integrations", json={**ERP, "name": "B", "api_port": 30000}).json["error"]["code"] \
        == "port_in_use"
    client.post("/integrations", json={**ERP, "name": "C"})
    exhausted = client.post("/integrations", json={**ERP, "name": "D"})
    assert exhausted.status_code == 409 and exhausted.json["error"]["code"] == "no_free_port"


def test_token_rotation_changes_the_token(client):
    first = client.post("/integrations", json=ERP).json["api_token"]
    second = client.post("/integrations/erp-bennys-auto/token").json["api_token"]
    assert second != first
    assert client.get("/integrations/erp-bennys-auto").json["history"][0]["event"] == "token_rotated"


def test_alive_answers_while_the_registry_database_is_away(client, monkeypatch):
    assert client.post("/integrations", json=ERP).status_code == 201
    assert client.get("/alive").json == {"manager": "running", "registry": "ok", "integrations": 1, "running": 0,
                                         "failed": 0}
    registry = client.application.config["MANAGER"].registry

    def refused(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(registry, "list", refused)
    alive = client.get("/alive")
    assert alive.status_code == 200  # liveness: a restart would not bring the database back
    assert alive.json["registry"] == "unavailable" and alive.json["integrations"] is None
    monkeypatch.setattr(registry, "get", refused)
    away = client.get("/integrations/erp-bennys-auto")
    assert away.status_code == 503 and away.json["error"]["code"] == "database_unavailable"


def test_an_integration_this_manager_cannot_run_is_refused_before_anything_changes(client, monkeypatch, tmp_path):
    """A manager image holds only the manager: activating an erp instance there is a 409 naming what is missing
    (not a start that fails five times), and neither the registry nor the supervisor changes."""
    monkeypatch.setattr("manager.supervisor.BIN", tmp_path / "no-bin")
    refused = client.post("/integrations", json={**ERP, "active": True})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "cannot_run_here"
    assert "erp-api, erp-worker is not installed" in refused.json["error"]["message"]
    assert client.get("/integrations").json["integrations"] == []
    assert client.post("/integrations", json=ERP).status_code == 201  # kept inactive: fine
    for action in ("activate", "start"):
        answer = client.put(f"/integrations/erp-bennys-auto/{action}")
        assert answer.status_code == 409 and answer.json["error"]["code"] == "cannot_run_here"
    detail = client.get("/integrations/erp-bennys-auto").json
    assert detail["active"] is False and detail["health"]["state"] == "stopped"


def test_everything_but_probes_and_documentation_needs_the_management_token(client):
    anonymous = client.application.test_client()
    assert anonymous.get("/alive").status_code == 200 and anonymous.get("/metrics").status_code == 200
    assert anonymous.get("/ready").json == {"ready": True, "database": True}
    for path in ("/integrations", "/queue"):
        assert anonymous.get(path).status_code == 401
    assert anonymous.get("/docs").status_code == 200  # documentation is public: it holds no secret
    paths = anonymous.get("/openapi.json").json["paths"]
    assert "/integrations/{integration_id}/worker/stop" in paths and "/integrations" in paths


def test_secrets_survive_key_rotation(tmp_path):
    from cryptography.fernet import Fernet

    from manager.app import build_manager

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    def manager_with(keys):
        return build_manager(ManagerSettings(api_token="t" * 20, data_dir=tmp_path, secret_keys=keys,
                                             database_url=f"sqlite:///{tmp_path}/m.db", _env_file=None))

    def instance_with(keys):  # the instance's own database, as the manager starts it on SQLite
        return Runtime(RuntimeSettings(api_token="t" * 20, data_dir=tmp_path / "instances" / "erp-rot",
                                       secret_keys=keys, _env_file=None,
                                       database_url=f"sqlite:///{tmp_path}/instances/erp-rot/hub.db"),
                       Instance("erp", "Rot"))

    first = manager_with(old)
    _, token = first.registry.create("erp", "Rot", ERP["settings"], {"username": "u", "password": "p"}, False)
    instance = instance_with(old)
    task = instance.tasks.submit("erp_order", "o1", {}, {"password": "order-pw"}).task
    instance.close()
    rotated = manager_with(f"{new},{old}")
    assert rotated.rotate_secrets() == (1, 1)
    after = manager_with(new)  # the old key is gone: everything must read under the new one
    assert after.registry.token("erp-rot") == token
    assert after.registry.credentials("erp-rot") == {"username": "u", "password": "p"}
    instance = instance_with(new)
    assert instance.tasks.secret_of(task.id) == {"password": "order-pw"}
    instance.close()


def test_secret_fields_of_a_kinds_credentials_are_stored_as_their_values(client):
    """A kind may declare its credentials with pydantic's SecretStr (carbonaltdelete does): the registry
    must keep the secret itself, not its `**********` mask."""
    manager = client.application.config["MANAGER"]
    view, _ = manager.registry.create("carbonaltdelete", "Cad", {"api_url": "http://127.0.0.1:9"},
                                      {"api_key": "5f0c1a6e-7d2b-4c3e-9a41-2b6d8e0f1c37", "api_secret": "s3cr3t-x"},
                                      False)
    assert manager.registry.credentials(view.id) == {"api_key": "5f0c1a6e-7d2b-4c3e-9a41-2b6d8e0f1c37",
                                                     "api_secret": "s3cr3t-x", "email": None, "password": None}
    assert "s3cr3t-x" not in client.get(f"/integrations/{view.id}").text


def test_a_body_over_the_limit_is_a_413_naming_it_and_changes_nothing(client):
    body = {"kind": "erp", "name": "Huge", "settings": {"base_url": "http://127.0.0.1:1", "note": "x" * 2**21}}
    answer = client.post("/integrations", json=body)
    assert answer.status_code == 413
    assert answer.json["error"] == {"code": "body_too_large",
                                    "message": "the request body is larger than this API accepts (1048576 bytes)"}
    assert client.get("/integrations").json["integrations"] == []


def _client_with(tmp_path, **settings):
    settings = ManagerSettings(api_token="t" * 20, data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/m.db",
                               port_range_start=30000, port_range_end=30003, _env_file=None, **settings)
    app = create_app(settings)
    return app, app.test_client()


def test_no_origin_may_read_answers_unless_it_is_on_the_allow_list(client):
    asked = client.get("/integrations", headers={"Origin": "https://evil.example"})
    assert asked.status_code == 200 and "Access-Control-Allow-Origin" not in asked.headers
    preflight = client.open("/integrations", method="OPTIONS", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_the_gui_origin_gets_cors_answers_and_still_needs_the_token(tmp_path):
    app, client = _client_with(tmp_path, cors_origins="https://ilx.example.com, http://localhost:3000")
    try:
        preflight = client.open("/integrations", method="OPTIONS", headers={
            "Origin": "https://ilx.example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://ilx.example.com"
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        without_token = client.get("/integrations", headers={"Origin": "https://ilx.example.com"})
        assert without_token.status_code == 401
        assert without_token.headers["Access-Control-Allow-Origin"] == "https://ilx.example.com"
        with_token = client.get("/integrations", headers={"Origin": "http://localhost:3000",
                                                          "Authorization": "Bearer " + "t" * 20})
        assert with_token.status_code == 200
        assert with_token.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        assert "Origin" in with_token.headers.get_all("Vary")
        other = client.get("/integrations", headers={"Origin": "https://ilx.example.com.evil.example",
                                                     "Authorization": "Bearer " + "t" * 20})
        assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    finally:
        app.config["MANAGER"].supervisor.shutdown()


@pytest.mark.parametrize("origins", ["*", "https://ilx.example.com/app", "ftp://x.example", "https://*.example.com"])
def test_a_cors_origin_that_is_not_an_exact_origin_is_refused_at_start(tmp_path, origins):
    with pytest.raises(ValueError, match="is not an origin"):
        ManagerSettings(api_token="t" * 20, data_dir=tmp_path, cors_origins=origins, _env_file=None)
