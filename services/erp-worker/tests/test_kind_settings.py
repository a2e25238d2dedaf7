"""The erp kind's settings: an ERP login never rides in base_url, and plain http:// only to this machine
unless an operator allows it."""

from __future__ import annotations

import pytest

from erp_worker.kind import KIND
from hub_runtime.kinds import KindConfigError


@pytest.mark.parametrize("url", ["https://erp.example.com", "http://127.0.0.1:8200", "http://localhost/erp",
                                 "http://[::1]:8200"])
def test_encrypted_or_local_urls_are_taken(url):
    assert KIND.read_settings({"HUB_ERP_BASE_URL": url}).base_url == url


def test_a_login_in_the_url_is_refused_without_showing_it():
    with pytest.raises(KindConfigError, match="HUB_ERP_BASE_URL: .*user or password") as caught:
        KIND.read_settings({"HUB_ERP_BASE_URL": "https://admin:gygag@erp.example.com"})
    assert "gygag" not in str(caught.value)


def test_plain_http_to_another_machine_needs_the_setting():
    with pytest.raises(KindConfigError, match="HUB_ERP_BASE_URL: .*unencrypted"):
        KIND.read_settings({"HUB_ERP_BASE_URL": "http://demo-erp:8200"})
    allowed = KIND.read_settings({"HUB_ERP_BASE_URL": "http://demo-erp:8200", "HUB_ERP_ALLOW_PLAIN_HTTP": "true"})
    assert allowed.allow_plain_http is True
