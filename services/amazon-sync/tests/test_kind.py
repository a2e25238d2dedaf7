"""The `amazon` kind's declaration: settings from the environment, credentials that never show a secret."""

from __future__ import annotations

import pytest

from amazon_sync.kind import KIND, AmazonCredentials
from hub_runtime.kinds import KindConfigError, installed_kinds

CREDENTIALS = {"lwa_app_id": "amzn1.application-oa2-client.abc", "lwa_client_secret": "s3cret-value",
               "refresh_token": "Atzr|refresh-value"}


def test_the_kind_is_installed_with_its_programs():
    kind = installed_kinds()["amazon"]
    assert kind.programs == ("amazon-sync-api", "amazon-sync-worker")
    assert kind.describe()["environment"]["orders_api"] == "HUB_AMAZON_ORDERS_API"


def test_settings_round_trip_through_the_environment():
    env = KIND.environment({"marketplaces": "A1F83G8C2ARO7P, A1PA6795UKMFR9", "orders_api": "v0"})
    settings = KIND.read_settings(env)
    assert settings.marketplace_ids == ["A1F83G8C2ARO7P", "A1PA6795UKMFR9"]
    assert settings.orders_api == "v0"


def test_an_unknown_marketplace_is_named():
    with pytest.raises(KindConfigError, match="HUB_AMAZON_MARKETPLACES"):
        KIND.read_settings({"HUB_AMAZON_MARKETPLACES": "XX"})


def test_credentials_never_show_their_secrets():
    credentials = KIND.required_credentials(CREDENTIALS)
    assert isinstance(credentials, AmazonCredentials)
    for text in (repr(credentials), str(credentials), str(credentials.model_dump())):
        assert "s3cret-value" not in text and "refresh-value" not in text


def test_bad_credentials_name_the_field_not_the_value():
    with pytest.raises(KindConfigError, match="refresh_token") as caught:
        KIND.required_credentials({**CREDENTIALS, "refresh_token": "not-a-token"})
    assert "not-a-token" not in str(caught.value)
