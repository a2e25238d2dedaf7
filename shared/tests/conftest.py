import pytest

from hub_runtime.config import RuntimeSettings
from hub_runtime.runtime import Instance, Runtime


@pytest.fixture
def settings(database_url, tmp_path, api_token, queue_prefix):
    return RuntimeSettings(database_url=database_url, data_dir=tmp_path / "data", api_token=api_token,
                           queue_prefix=queue_prefix, retry_base_seconds=0.01, retry_max_seconds=0.02,
                           retry_max_attempts=3, heartbeat_seconds=0.1, _env_file=None)


@pytest.fixture
def runtime(settings):
    runtime = Runtime(settings, Instance("erp", "Bennys Auto"))
    yield runtime
    runtime.close()
