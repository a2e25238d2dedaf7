"""ERP adapters: one module per ERP system, registered in `registry.py`."""
