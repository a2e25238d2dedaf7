import pytest

from erp_api.app import create_app
from hub_runtime.config import RuntimeSettings


@pytest.fixture
def settings(database_url, tmp_path, api_token, queue_prefix):
    return RuntimeSettings(database_url=database_url, data_dir=tmp_path / "data", api_token=api_token,
                           queue_prefix=queue_prefix, heartbeat_seconds=0.2, _env_file=None)


@pytest.fixture
def app(settings):
    app = create_app(settings, "Bennys Auto")
    app.testing = True
    yield app
    app.config["RUNTIME"].close()


@pytest.fixture
def client(app, api_token):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def order():
    return {"workshop": "Bennys Auto", "worksheet": "558", "product_nr": "10", "product_amount": "5",
            "uniqueid": "oilmat-0001", "username": "admin", "password": "gygag"}
