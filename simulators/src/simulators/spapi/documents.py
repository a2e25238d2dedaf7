"""Report documents and their download URLs.

A document is stored as Amazon stores it: the report text gzip-compressed (`compressionAlgorithm: GZIP`),
or plain for the error document of a FATAL report. Its URL is presigned the S3 way in spirit: an opaque
signed token naming the document and an expiry `ttl` simulated seconds after issue (5 minutes, like
Amazon's): `/_documents/<document id>?X-Amz-Expires=...&X-Amz-Signature=<token>`, the secret part in the
query string (which the access log never shows). An expired URL answers S3's 403 `AccessDenied` "Request
has expired"; a changed one `SignatureDoesNotMatch`; one without a signature `AccessDenied`.
`expire_all()` (the `expire_document_urls` fault) expires every URL issued so far.
"""

from __future__ import annotations

import datetime as dt
import gzip
import secrets
import string
import threading
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

from .params import Signer

URL_TTL = 300
_ALNUM = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Document:
    document_id: str
    seller_id: str
    body: bytes
    compressed: bool


class UrlRefused(Exception):
    """A download URL that S3 would refuse: the status and its XML error body."""

    def __init__(self, code: str, message: str, extra: dict[str, str] | None = None, status: int = 403) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}

    def xml(self) -> str:
        extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in self.extra.items())
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code><Message>'
                f"{escape(self.message)}</Message>{extra}<RequestId>{secrets.token_hex(8).upper()}</RequestId>"
                f"<HostId>{secrets.token_urlsafe(48)}</HostId></Error>")


def _s3_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Documents:
    """Documents by id and the URL tokens for them. Thread-safe."""

    def __init__(self, signer: Signer | None = None) -> None:
        self._signer = signer or Signer()
        self._lock = threading.Lock()
        self._documents: dict[str, Document] = {}
        self._serial = 0
        self._expired_up_to = 0

    def add(self, seller_id: str, text: str, compressed: bool = True) -> Document:
        body = text.encode("utf-8")
        suffix = "".join(secrets.choice(_ALNUM) for _ in range(13))
        document = Document(f"amzn1.spdoc.1.4.eu.{uuid.uuid4()}.T{suffix}.{secrets.randbelow(9000) + 1000}",
                            seller_id, gzip.compress(body, mtime=0) if compressed else body, compressed)
        with self._lock:
            self._documents[document.document_id] = document
        return document

    def get(self, document_id: str) -> Document | None:
        with self._lock:
            return self._documents.get(document_id)

    def clear(self) -> None:
        with self._lock:
            self._documents.clear()

    def url_token(self, document: Document, now: float, ttl: int = URL_TTL, content_encoding: bool = False) -> str:
        """The token of a URL that serves the document until `ttl` simulated seconds from now."""
        with self._lock:
            self._serial += 1
            serial = self._serial
        return self._signer.dumps({"d": document.document_id, "i": int(now), "t": ttl, "n": serial,
                                   "g": content_encoding})

    def open(self, document_id: str, token: str | None, now: float) -> tuple[Document, bool]:
        """The document of a URL and whether to send `Content-Encoding: gzip`; else `UrlRefused`."""
        if not token:
            raise UrlRefused("AccessDenied", "Access Denied")
        payload = self._signer.loads(token)
        if payload is None or payload.get("d") != document_id:
            raise UrlRefused("SignatureDoesNotMatch", "The request signature we calculated does not match the "
                             "signature you provided. Check your key and signing method.")
        with self._lock:
            expired_early = payload["n"] <= self._expired_up_to
            document = self._documents.get(payload["d"])
        expires = payload["i"] + payload["t"]
        if expired_early or now > expires:
            raise UrlRefused("AccessDenied", "Request has expired", {
                "X-Amz-Expires": str(payload["t"]), "Expires": _s3_time(min(expires, now)),
                "ServerTime": _s3_time(now)})
        if document is None:
            raise UrlRefused("NoSuchKey", "The specified key does not exist.", status=404)
        return document, bool(payload["g"])

    def expire_all(self) -> None:
        """Every URL issued so far expires now."""
        with self._lock:
            self._expired_up_to = self._serial
