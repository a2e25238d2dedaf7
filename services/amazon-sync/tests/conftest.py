"""amazon-sync tests: an engine on SQLite and on PostgreSQL (a database of its own per test) with
amazon-sync's migrations applied, and an instance id of each test's own."""

from __future__ import annotations

import uuid

import pytest
from service_fixtures import seller, sim, sim_url  # noqa: F401 - fixtures of the service tests
from spapi_stub import upstream_server

from amazon_sync.store.tables import MIGRATIONS, VERSION_TABLE
from hub_runtime.db import make_engine, make_sessions, migrate


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS, VERSION_TABLE)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    return make_sessions(engine)


@pytest.fixture
def instance():
    return f"amazon:test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def server():
    """The scripted SP-API and LWA of the spapi client's fast tests (`spapi_stub`), one per test module."""
    with upstream_server() as upstream:
        yield upstream


@pytest.fixture
def upstream(server):
    server.reset()
    return server
