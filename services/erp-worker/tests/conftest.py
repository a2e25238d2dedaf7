import threading

import pytest
from werkzeug.serving import make_server

from simulators.demo_erp.app import create_app


@pytest.fixture
def demo_erp():
    """The demo ERP served over real HTTP in this process; yields its base URL."""
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
