"""report-api's own settings: a JWT signing key too short to be safe stops the process, named, never shown."""

from __future__ import annotations

import pytest

from hub_runtime.config import load_settings
from report_api.settings import ReportSettings

TOKEN = "t" * 20


@pytest.mark.parametrize("key", ["change-me", "x" * 31])
def test_a_short_jwt_secret_stops_the_process_without_showing_it(tmp_path, capsys, key):
    with pytest.raises(SystemExit):
        load_settings(ReportSettings, data_dir=tmp_path, api_token=TOKEN, jwt_secret=key, _env_file=None)
    said = capsys.readouterr().err
    assert "HUB_JWT_SECRET: Value error, must be at least 32 bytes" in said and key not in said


def test_a_long_jwt_secret_or_none_is_taken(tmp_path):
    settings = load_settings(ReportSettings, data_dir=tmp_path, api_token=TOKEN, jwt_secret="k" * 32, _env_file=None)
    assert settings.jwt_secret.get_secret_value() == "k" * 32
    assert load_settings(ReportSettings, data_dir=tmp_path, api_token=TOKEN, _env_file=None).jwt_secret is None
