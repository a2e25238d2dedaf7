"""Encryption of stored credentials (Fernet; several keys allow rotation: the first encrypts, all decrypt)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBox:
    def __init__(self, keys: list[bytes]):
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._mac_key = hashlib.sha256(b"hub-fingerprint:" + keys[0]).digest()

    @classmethod
    def from_setting(cls, setting: str | None, data_dir: Path) -> SecretBox:
        """Keys from `HUB_SECRET_KEYS`, or else a key generated once into `<data_dir>/secret.key` (mode
        0600) so the one-machine default works without set-up."""
        if setting:
            return cls([k.strip().encode() for k in setting.split(",") if k.strip()])
        path = data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        return cls([path.read_bytes().strip()])

    def encrypt(self, values: dict) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def decrypt(self, token: str) -> dict:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the first (newest) key."""
        return self._fernet.rotate(token.encode()).decode()

    def fingerprint(self, values: dict) -> str:
        """A keyed hash of a request body, so idempotency checks cover secrets without storing them."""
        return hmac.digest(self._mac_key, _canonical(values).encode(), "sha256").hex()


# json.dumps(values, sort_keys=True, separators=(",", ":"), default=str), with the encoder built once
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode
