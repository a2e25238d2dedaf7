"""Broker port and adapters; `make_broker` picks one from the settings."""
