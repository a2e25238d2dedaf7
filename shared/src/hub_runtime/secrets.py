"""Encryption of stored credentials, and keyed fingerprints of request bodies.

Keys come from `HUB_SECRET_KEYS` (comma-separated; Fernet's key format: 32 random bytes, base64url) or a
key file generated once. Values are sealed with AES-256-GCM under a key derived from the first configured
key (HKDF-SHA256); every configured key decrypts, so keys rotate by putting a new one first and running the
re-encryption (`manager --rotate-secrets`). A token reads `g1.<key id>.<nonce, ciphertext and tag in
base64url>`; the key id (a hash of the key, not the key) picks the key without trying each one.

Tokens written before AES-GCM (Fernet, `gAAAA...`) are still decrypted, and `rotate` rewrites them in the
new form. AES-GCM costs one C call per value where Fernet's AES-CBC + HMAC cost several Python-level steps;
it is on the intake path of every order.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import fastjson
from .ids import random_bytes

_VERSION = "g1"
_HKDF_INFO = b"hub_runtime.secrets: AES-256-GCM v1"
_NONCE_BYTES = 12


def parse_keys(setting: str) -> list[bytes]:
    """The keys of a `HUB_SECRET_KEYS` value; ValueError, naming a key by its position only, unless each is
    32 bytes in base64url (Fernet's key format)."""
    keys = [k.strip().encode() for k in setting.split(",") if k.strip()]
    if not keys:
        raise ValueError("holds no key")
    for number, key in enumerate(keys, 1):
        try:
            raw = base64.urlsafe_b64decode(key)
        except (binascii.Error, ValueError):
            raise ValueError(f"key {number} is not base64url") from None
        if len(raw) != 32:
            raise ValueError(f"key {number} is {len(raw)} bytes, not 32 (make one with: python -c "
                             "'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')")
    return keys


def key_setting(setting: str | None, data_dir: Path) -> str:
    """`HUB_SECRET_KEYS`, or else a key generated once into `<data_dir>/secret.key` (mode 0600) so the
    one-machine default works without set-up."""
    if setting:
        return setting
    path = data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError), os.fdopen(
                os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            fh.write(Fernet.generate_key())
    return path.read_text().strip()


SECRETS_FILE_KEYS = ("api_token", "secret_keys", "credentials")


def write_secrets_file(path: Path, values: dict) -> None:
    """Write an instance's secrets (its API token, the encryption keys, the integration's credentials) for
    it to read at start (`HUB_SECRETS_FILE`): mode 0600 from the first byte, replaced atomically, so no
    other user ever reads them and the instance never reads half a file. Secrets in a file instead of the
    environment: `ps e` and /proc/<pid>/environ show a process's environment."""
    if unknown := set(values) - set(SECRETS_FILE_KEYS):
        raise ValueError(f"not secrets-file keys: {', '.join(sorted(unknown))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
        fh.write(fastjson.dumps_bytes(values))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)


def read_secrets_file(path: Path) -> dict:
    """What `write_secrets_file` wrote; ValueError (naming the problem, never a value) if the file is
    missing, readable by other users, or not an object of the known keys."""
    try:
        mode = path.stat().st_mode
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} cannot be read as JSON ({type(exc).__name__})") from None
    if os.name == "posix" and mode & 0o077:
        raise ValueError(f"{path} is readable by other users (mode {mode & 0o777:o}); chmod 600 it")
    if not isinstance(data, dict) or set(data) - set(SECRETS_FILE_KEYS):
        raise ValueError(f"{path} must hold an object with the keys {', '.join(SECRETS_FILE_KEYS)} only")
    return data


class SecretBox:
    def __init__(self, keys: list[bytes]):
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])  # checks each key's form; reads older tokens
        self._ciphers: dict[str, AESGCM] = {}
        for key in keys:
            raw = base64.urlsafe_b64decode(key)
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(raw)
            key_id = hashlib.sha256(b"hub_runtime.secrets key id:" + derived).hexdigest()[:8]
            self._ciphers.setdefault(key_id, AESGCM(derived))
        self._key_id = next(iter(self._ciphers))  # the first key encrypts
        self._mac_key = hashlib.sha256(b"hub-fingerprint:" + keys[0]).digest()

    @classmethod
    def from_setting(cls, setting: str | None, data_dir: Path) -> SecretBox:
        return cls(parse_keys(key_setting(setting, data_dir)))

    def encrypt(self, values: dict) -> str:
        header = f"{_VERSION}.{self._key_id}."
        nonce = random_bytes(_NONCE_BYTES)
        sealed = self._ciphers[self._key_id].encrypt(nonce, fastjson.dumps_bytes(values), header.encode())
        return header + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> dict:
        if not token.startswith(_VERSION + "."):
            return self._decrypt_fernet(token)
        version, key_id, body = (token.split(".", 2) + ["", ""])[:3]
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise ValueError("stored secret cannot be decrypted with the configured keys (its key is not among them)")
        try:
            raw = base64.urlsafe_b64decode(body)
            plain = cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], f"{version}.{key_id}.".encode())
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise ValueError("stored secret cannot be decrypted with the configured keys") from exc
        return json.loads(plain)

    def _decrypt_fernet(self, token: str) -> dict:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the first (newest) key, in the current form."""
        return self.encrypt(self.decrypt(token))

    def fingerprint(self, values: dict) -> str:
        """A keyed hash of a request body, so idempotency checks cover secrets without storing them."""
        return hmac.digest(self._mac_key, _canonical(values).encode(), "sha256").hex()


# json.dumps(values, sort_keys=True, separators=(",", ":"), default=str), with the encoder built once
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode
