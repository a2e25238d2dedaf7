"""A copy of each downloaded inventory in an S3 bucket, when the instance names one (HUB_CAD_S3_BUCKET).
boto3 finds the bucket's credentials itself (an instance role, AWS_* variables or files); the file is
always kept in the instance's own storage too, which the download route serves."""

from __future__ import annotations

import logging
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hub_runtime.errors import PermanentError, TransientError

from .kind import CarbonAltDeleteSettings

log = logging.getLogger("report_api.carbonaltdelete")

REFUSALS = {"AccessDenied", "NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled",
            "InvalidBucketName", "PermanentRedirect"}


class S3Store:
    def __init__(self, settings: CarbonAltDeleteSettings):
        if not settings.s3_bucket:
            raise ValueError("no S3 bucket is configured (HUB_CAD_S3_BUCKET)")
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        self._client = boto3.client(
            "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region,
            config=Config(connect_timeout=settings.timeout_seconds, read_timeout=settings.timeout_seconds,
                          retries={"max_attempts": settings.retry_attempts, "mode": "standard"},
                          # an S3-compatible endpoint (MinIO, Ceph...) rarely has a name per bucket
                          s3={"addressing_style": "path"} if settings.s3_endpoint_url else None))

    def key(self, company_id: str, period: str, task_id: str, extension: str) -> str:
        period_part = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in period) or "period"
        return f"{self.prefix}{company_id}/{period_part}/{task_id}.{extension}"

    def put(self, path: Path, key: str, content_type: str, metadata: dict[str, str]) -> dict:
        """Upload the file; where it went. PermanentError when the bucket refuses us (missing, no access),
        TransientError for anything else (the job is tried again)."""
        try:
            with path.open("rb") as body:  # one PUT: an inventory is far below S3's 5 GB limit of one
                self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type,
                                        Metadata={k: _ascii(v) for k, v in metadata.items()})
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in REFUSALS:
                raise PermanentError("s3_refused", f"S3 refused the upload to bucket {self.bucket!r}: {code}") from None
            raise TransientError("s3_unavailable", f"S3 upload to {self.bucket!r} failed: {code or exc}") from None
        except (BotoCoreError, OSError) as exc:
            raise TransientError("s3_unavailable", f"S3 upload to {self.bucket!r} failed: "
                                 f"{type(exc).__name__}: {exc}"[:500]) from None
        log.info("inventory copied to S3", extra={"bucket": self.bucket, "key": key})
        return {"bucket": self.bucket, "key": key}


def _ascii(value: str) -> str:
    """S3 user metadata must be ASCII."""
    return value.encode("ascii", "replace").decode("ascii")
