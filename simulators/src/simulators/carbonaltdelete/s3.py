"""The S3 endpoint the report files are downloaded from: moto's server mode, in-process, on its own port.

The files go into a bucket of their own (one per simulator, so two simulators in one process never see
each other's files) through boto3, and the download URLs are real SigV4 presigned URLs from boto3's
`generate_presigned_url` with `ExpiresIn`.

moto (5.2) checks neither the signature nor the expiry of a presigned URL: it serves the object to anyone.
So a thin strict front (WSGI, in front of moto's app) does what S3 does for reads of the bucket's objects,
with S3's XML errors: no signature at all is 403 `AccessDenied`; a signature that does not match the
request (a re-encoded path or query, another host) is 403 `SignatureDoesNotMatch`; a URL past
`X-Amz-Date` + `X-Amz-Expires` is 403 `AccessDenied` "Request has expired". It also counts the downloads.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape

import boto3
from botocore.config import Config
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

REGION = "eu-central-1"
_CREDENTIALS = {"aws_access_key_id": "AKIACARBONALTDELETESIM", "aws_secret_access_key": "carbonaltdelete-sim-secret"}


class S3Endpoint:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.bucket = f"cad-reports-{secrets.token_hex(4)}"
        self._downloads = 0
        self._lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(host, port, self._strict(app), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="carbonaltdelete-s3", daemon=True)
        shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
        self.url = f"http://{shown}:{self._server.server_port}"
        self._client = boto3.client("s3", endpoint_url=self.url, region_name=REGION, **_CREDENTIALS,
                                    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))

    def start(self) -> S3Endpoint:
        self._thread.start()
        self._client.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def put(self, key: str, body: bytes, content_type: str, file_name: str) -> None:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type,
                                ContentDisposition=f'attachment; filename="{file_name}"')

    def presign(self, key: str, expires_in: int) -> str:
        return self._client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                   ExpiresIn=expires_in)

    def clear(self) -> None:
        """Delete every file in the bucket."""
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                self._client.delete_object(Bucket=self.bucket, Key=item["Key"])

    @property
    def downloads(self) -> int:
        """Objects of our bucket served with 200."""
        return self._downloads

    def reset_downloads(self) -> None:
        with self._lock:
            self._downloads = 0

    def _strict(self, app: Callable) -> Callable:
        prefix = f"/{self.bucket}/"

        def front(environ: dict, start_response: Callable) -> Iterable[bytes]:
            if environ["REQUEST_METHOD"] not in ("GET", "HEAD") or not environ.get("PATH_INFO", "").startswith(prefix):
                return app(environ, start_response)  # our own boto3 calls, bucket listings
            refused = refusal(environ)
            if refused is not None:
                return _s3_error(start_response, *refused)

            def start(status: str, headers: list, exc_info=None):
                if status.startswith("200") and environ["REQUEST_METHOD"] == "GET":
                    with self._lock:
                        self._downloads += 1
                return start_response(status, headers, exc_info)

            return app(environ, start)

        return front


def refusal(environ: dict, now: datetime.datetime | None = None) -> tuple[str, str, dict] | None:
    """Why S3 would refuse this object read, as (code, message, extra fields); None if it would not.
    Reads signed with an `Authorization` header (boto3's own) pass; presigned ones are checked fully."""
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if "X-Amz-Signature" not in query:
        if environ.get("HTTP_AUTHORIZATION", "").startswith("AWS4-HMAC-SHA256 "):
            return None
        return "AccessDenied", "Access Denied", {}
    try:
        signed_at = datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        expires = int(query["X-Amz-Expires"])
    except (KeyError, ValueError):
        return "AuthorizationQueryParametersError", "X-Amz-Date and X-Amz-Expires must be given and valid", {}
    if not 1 <= expires <= 604_800:
        return "AuthorizationQueryParametersError", "X-Amz-Expires must be between 1 and 604800 seconds", {}
    if query.get("X-Amz-Signature") != _signature(environ, query):
        return ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method.", {})
    now = now or datetime.datetime.now(datetime.UTC)
    if now > signed_at + datetime.timedelta(seconds=expires):
        return "AccessDenied", "Request has expired", {
            "X-Amz-Expires": str(expires), "Expires": _iso(signed_at + datetime.timedelta(seconds=expires)),
            "ServerTime": _iso(now)}
    return None


def _signature(environ: dict, query: dict[str, str]) -> str:
    """SigV4 of a presigned GET, as S3 computes it (only `host` signed, unsigned payload)."""
    credential = query.get("X-Amz-Credential", "")
    parts = credential.split("/")
    if len(parts) != 5 or parts[0] != _CREDENTIALS["aws_access_key_id"] or query.get("X-Amz-SignedHeaders") != "host":
        return ""
    day, region, service, _ = parts[1:]
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                               for k, v in sorted(query.items()) if k != "X-Amz-Signature")
    path = quote(environ.get("PATH_INFO", ""), safe="/-_.~")
    canonical = "\n".join((environ["REQUEST_METHOD"], path, canonical_query, f"host:{environ.get('HTTP_HOST', '')}",
                           "", "host", "UNSIGNED-PAYLOAD"))
    scope = "/".join(parts[1:])
    to_sign = "\n".join(("AWS4-HMAC-SHA256", query.get("X-Amz-Date", ""), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()))
    key = ("AWS4" + _CREDENTIALS["aws_secret_access_key"]).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _s3_error(start_response: Callable, code: str, message: str, extra: dict) -> list[bytes]:
    fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in extra.items())
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}'
            f"</Message>{fields}<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>").encode()
    status = "400 Bad Request" if code == "AuthorizationQueryParametersError" else "403 Forbidden"
    start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]
