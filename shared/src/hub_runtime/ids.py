"""Random ids and nonces from a per-process pool of `os.urandom` bytes: one system call per 4 KiB instead
of one per value.

Every order needs three random values (its request id, its task id, the AES-GCM nonce of its credentials).
Each `os.urandom` call releases Python's GIL around the system call, and in a busy API process every
release lets another request thread take the GIL, so the caller then waits to get it back: many small
system calls cost more than they take. The pool is refilled from `os.urandom` (the kernel's CSPRNG), so the
values are as unpredictable as before; it is emptied in a forked child, which must never repeat its
parent's bytes (a repeated nonce would break AES-GCM).
"""

from __future__ import annotations

import os
import threading

_BLOCK = 4096


class _Pool:
    def __init__(self):
        self._lock = threading.Lock()
        self._bytes = b""
        self._used = 0

    def take(self, n: int) -> bytes:
        with self._lock:
            if self._used + n > len(self._bytes):
                self._bytes, self._used = os.urandom(max(_BLOCK, n)), 0
            start = self._used
            self._used += n
            return self._bytes[start:self._used]

    def forget(self) -> None:
        self._lock = threading.Lock()  # a lock held by a parent thread at fork time stays held in the child
        self._bytes, self._used = b"", 0


_pool = _Pool()
os.register_at_fork(after_in_child=_pool.forget)


def random_bytes(n: int) -> bytes:
    """`n` bytes from the kernel's CSPRNG (pooled)."""
    return _pool.take(n)


def random_hex(n: int = 16) -> str:
    """`n` random bytes as 2n hex digits, e.g. a request id."""
    return _pool.take(n).hex()


def uuid4_hex() -> str:
    """What `uuid.uuid4().hex` gives (a version-4 UUID as 32 hex digits), from the pool."""
    raw = bytearray(_pool.take(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()
