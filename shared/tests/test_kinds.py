"""Kinds as declared units: the mapping of settings to environment variables and back, and discovery."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from hub_runtime.kinds import InstanceSettings, Kind, installed_kinds, load_plugin, plugin_names


class ToySettings(InstanceSettings):
    base_url: str = Field(pattern=r"^https?://")
    retries: int = Field(3, ge=0)
    verbose: bool = False
    note: str | None = None


class ToyCredentials(BaseModel):
    token: str


TOY = Kind(name="toy", description="a kind of the tests", settings=ToySettings, credentials=ToyCredentials,
           api="toy-api", worker="toy-worker", env_prefix="HUB_TOY_",
           extra_env=lambda settings: {"HUB_TOY_MODE": "fast" if settings.retries == 0 else "careful"})


def test_settings_become_environment_variables_and_read_back_the_same():
    env = TOY.environment({"base_url": "http://x", "retries": 0, "verbose": True})
    assert env == {"HUB_API_WORKERS": "1", "HUB_TOY_BASE_URL": "http://x", "HUB_TOY_RETRIES": "0",
                   "HUB_TOY_VERBOSE": "true", "HUB_TOY_MODE": "fast"}  # unset optional fields are left out
    assert TOY.settings_from_environment(env) == ToySettings(base_url="http://x", retries=0, verbose=True)


def test_a_bad_variable_stops_the_process_naming_it(capsys):
    with pytest.raises(SystemExit) as stop:
        TOY.settings_from_environment({"HUB_TOY_RETRIES": "-1"})
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "HUB_TOY_BASE_URL: is required" in err and "HUB_TOY_RETRIES:" in err


def test_processes_carry_the_kind_ports_and_settings():
    api, worker = TOY.processes("Toy Shop", 8401, 8402, "0.0.0.0", {"base_url": "https://t"})
    assert api.argv == ["toy-api", "8401", "Toy Shop", "--host", "0.0.0.0"]
    assert worker.argv == ["toy-worker", "Toy Shop"]
    assert api.env == worker.env and api.env["HUB_KIND"] == "toy" and api.env["HUB_PROBE_PORT"] == "8402"
    assert "HUB_TOY_BASE_URL" in api.env


def test_credentials_are_read_with_the_kinds_model():
    assert TOY.credentials_from({"token": "t"}) == ToyCredentials(token="t")
    assert TOY.credentials_from(None) is None


def test_the_installed_kinds_are_found_by_entry_point():
    kinds = installed_kinds()
    assert {"erp", "rules", "echo"} <= set(kinds)
    assert all(kind.name == name for name, kind in kinds.items())
    assert "http" in plugin_names("hub.erp_adapters")
    with pytest.raises(LookupError, match="'fax' is not installed"):
        load_plugin("hub.erp_adapters", "fax")
