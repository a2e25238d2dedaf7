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
