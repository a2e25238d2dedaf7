"""The manager: keeps the registry of integrations and supervises their instances."""
