"""Test helpers shared by every service's tests: real databases and broker per run, free ports, processes,
and a TCP proxy to cut a connection. Loaded as a pytest plugin (`-p hub_runtime.testing.fixtures`)."""
