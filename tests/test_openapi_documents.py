"""Every HTTP API of the hub (each kind's instance API and the manager) serves a valid OpenAPI document and
Swagger UI, both without a token, and the page loads nothing from another host."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from openapi_spec_validator import validate

from hub_runtime.config import RuntimeSettings

TOKEN = "d" * 20
PROBES = ("/alive", "/ready", "/metrics")
SOURCE_HEALTH = ("/health", "/")  # the gcore source's health answers, public as in the service it replaces


def erp_api(tmp):
    from erp_api.app import create_app

    return create_app(RuntimeSettings(**instance_settings(tmp)), "Bennys Auto")


def report_api(tmp):
    from report_api.app import create_app
    from report_api.settings import ReportSettings

    return create_app(ReportSettings(**instance_settings(tmp)), "Demo reports")


def echo_api(tmp):
    from hub_echo_kind.cli import create_app

    return create_app(RuntimeSettings(**instance_settings(tmp)), "Echo")


def manager(tmp):
    from manager.app import create_app
    from manager.settings import ManagerSettings

    return create_app(ManagerSettings(api_token=TOKEN, data_dir=tmp, database_url=f"sqlite:///{tmp / 'm.db'}",
                                      _env_file=None))


def instance_settings(tmp) -> dict:
    return {"database_url": f"sqlite:///{tmp / 'hub.db'}", "data_dir": tmp, "api_token": TOKEN, "_env_file": None}


@pytest.fixture(scope="module", params=[erp_api, report_api, echo_api, manager], ids=lambda f: f.__name__)
def anonymous(request, tmp_path_factory):
    """A client without a token of one API."""
    app = request.param(tmp_path_factory.mktemp(request.param.__name__))
    yield app.test_client()
    if "MANAGER" in app.config:
        app.config["MANAGER"].supervisor.shutdown()
    else:
        app.config["RUNTIME"].close()


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_document_is_valid_openapi(anonymous):
    answer = anonymous.get("/openapi.json")
    assert answer.status_code == 200
    doc = answer.json
    validate(doc)  # every $ref resolves, every path parameter is declared
    assert doc["openapi"].startswith("3.1")


def test_guarded_operations_name_the_token_and_probes_none(anonymous):
    doc = anonymous.get("/openapi.json").json
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, method, operation in operations(doc):
        public = (path in (*PROBES, *SOURCE_HEALTH, "/openapi.json", "/docs")
                  or path.startswith("/api/auth/") and method == "post")
        if public:
            assert "security" not in operation, f"{method.upper()} {path}"
        else:
            assert [name for requirement in operation["security"] for name in requirement] in (
                ["bearerAuth"], ["userAuth"]), f"{method.upper()} {path}"
            assert anonymous.open(re.sub(r"{\w+}", "x", path), method=method).status_code == 401


def test_swagger_ui_is_served_without_a_token_from_local_assets(anonymous):
    page = anonymous.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "swagger-ui" in page.text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert assets, "the page loads no asset"
    for asset in assets:
        url = urljoin("http://localhost/docs", asset)
        assert urlsplit(url).netloc == "localhost", f"/docs loads {asset} from another host"
        assert anonymous.get(urlsplit(url).path).status_code == 200, asset
    assert anonymous.get(urlsplit(urljoin("http://localhost/docs", "openapi.json")).path).status_code == 200
