import base64
import os

import pytest

from hub_runtime.config import RuntimeSettings, load_settings


def test_missing_and_invalid_variables_are_named(monkeypatch, capsys):
    monkeypatch.delenv("HUB_API_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    monkeypatch.setenv("HUB_RETRY_MAX_ATTEMPTS", "0")
    with pytest.raises(SystemExit) as exc:
        load_settings(RuntimeSettings, _env_file=None)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "HUB_API_TOKEN: is required" in err
    assert "DATABASE_URL:" in err and "sqlite://" in err
    assert "HUB_RETRY_MAX_ATTEMPTS:" in err


def test_environment_is_read_and_empty_amqp_url_means_embedded(monkeypatch):
    monkeypatch.setenv("HUB_API_TOKEN", "x" * 16)
    monkeypatch.setenv("AMQP_URL", "")
    monkeypatch.setenv("HUB_QUEUE_PREFIX", "p.")
    settings = load_settings(RuntimeSettings, _env_file=None)
    assert settings.amqp_url is None and settings.queue_prefix == "p."
    assert "x" * 16 not in repr(settings)


def test_short_token_is_refused(monkeypatch):
    monkeypatch.setenv("HUB_API_TOKEN", "short")
    with pytest.raises(SystemExit):
        load_settings(RuntimeSettings, _env_file=None)


@pytest.mark.parametrize("keys,problem", [
    ("not-a-key", "key 1 is not base64url"),
    (base64.urlsafe_b64encode(b"k" * 32).decode() + "," + base64.urlsafe_b64encode(b"short").decode(),
     "key 2 is 5 bytes, not 32"),
    (" , ", "holds no key"),
])
def test_malformed_secret_keys_are_named_without_showing_them(monkeypatch, capsys, keys, problem):
    monkeypatch.setenv("HUB_API_TOKEN", "x" * 16)
    monkeypatch.setenv("HUB_SECRET_KEYS", keys)
    with pytest.raises(SystemExit):
        load_settings(RuntimeSettings, _env_file=None)
    err = capsys.readouterr().err
    assert f"HUB_SECRET_KEYS: Value error, {problem}" in err
    assert all(key.strip() not in err for key in keys.split(",") if key.strip())


def test_well_formed_secret_keys_are_taken(monkeypatch):
    keys = ",".join(base64.urlsafe_b64encode(os.urandom(32)).decode() for _ in range(2))
    monkeypatch.setenv("HUB_API_TOKEN", "x" * 16)
    monkeypatch.setenv("HUB_SECRET_KEYS", keys)
    assert load_settings(RuntimeSettings, _env_file=None).secret_keys.get_secret_value() == keys
