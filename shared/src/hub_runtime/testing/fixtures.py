"""pytest fixtures of the hub (loaded with `-p hub_runtime.testing.fixtures`)."""

from __future__ import annotations

import uuid

import pytest

from .services import POSTGRES_ADMIN_URL, RABBITMQ_URL, create_postgres_database, need


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL database of this test run, dropped at the end."""
    need("PostgreSQL", POSTGRES_ADMIN_URL, 5432, "REQUIRE_POSTGRES")
    url, drop = create_postgres_database()
    yield url
    drop()


@pytest.fixture
def fresh_postgres_url():
    """A PostgreSQL database for one test."""
    need("PostgreSQL", POSTGRES_ADMIN_URL, 5432, "REQUIRE_POSTGRES")
    url, drop = create_postgres_database()
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """Each test using this runs on SQLite and on PostgreSQL (its own database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
    else:
        yield request.getfixturevalue("fresh_postgres_url")


@pytest.fixture
def amqp_url():
    need("RabbitMQ", RABBITMQ_URL, 5672, "REQUIRE_RABBITMQ")
    return RABBITMQ_URL


@pytest.fixture
def queue_prefix():
    """Queue names of their own, so runs never see each other's messages."""
    return f"test-{uuid.uuid4().hex[:8]}."


@pytest.fixture
def api_token():
    return "test-token-" + uuid.uuid4().hex
