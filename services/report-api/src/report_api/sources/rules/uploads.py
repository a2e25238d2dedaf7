"""The rules source's inputs: uploaded files, under `uploads/<user>/` in the instance's storage folder,
with rows in `report_uploads`.

An upload arrives in a staging file (the request parser writes it there directly, never holding it in
memory), is validated, and only then is moved into place and recorded, as the next version of its name.
A failed request leaves neither a file nor a row behind."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub_runtime.db import transaction
from hub_runtime.models import utcnow
from hub_runtime.tasks import iso

from ...models import Upload
from ...storage import Storage


@dataclass
class Staged:
    """A received file, not yet recorded."""

    kind: str
    name: str
    path: Path
    size: int
    sha256: str
    fmt: str
    columns: list[str] | None = None


def safe_name(filename: str | None, default: str) -> str:
    """The client's file name reduced to a harmless base name (no folders, no control characters)."""
    base = os.path.basename((filename or "").replace("\\", "/")).strip()
    base = re.sub(r"[^\w.\- ]+", "_", base)[:200].strip(" .")
    return base or default


class Uploads:
    def __init__(self, storage: Storage, sessions: sessionmaker[Session]):
        self.root = storage.root
        self.sessions = sessions

    # --- receiving ------------------------------------------------------------------------------------
    @staticmethod
    def stage(kind: str, filename: str | None, path: Path, fmt: str) -> Staged:
        digest, size = hashlib.sha256(), 0
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        return Staged(kind, safe_name(filename, f"{kind}.{fmt}"), path, size, digest.hexdigest(), fmt)

    @staticmethod
    def discard(staged: list[Staged]) -> None:
        for item in staged:
            item.path.unlink(missing_ok=True)

    def commit(self, user_id: str, staged: list[Staged]) -> list[Upload]:
        """Move validated files into place and record each as the next version of its name."""
        uploads = []
        try:
            for item in staged:
                uploads.append(self._commit_one(user_id, item))
        except BaseException:
            self.discard(staged[len(uploads):])
            raise
        return uploads

    def _commit_one(self, user_id: str, item: Staged) -> Upload:
        upload_id = uuid.uuid4().hex
        relative = Path("uploads") / user_id / f"{upload_id}.{item.fmt}"
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(item.path, target)
        for _ in range(5):  # two uploads of one name at once: the loser takes the next version
            try:
                with transaction(self.sessions) as session:
                    version = 1 + (session.scalar(select(func.max(Upload.version)).where(
                        Upload.user_id == user_id, Upload.kind == item.kind, Upload.name == item.name)) or 0)
                    upload = Upload(id=upload_id, user_id=user_id, kind=item.kind, name=item.name,
                                    version=version, path=str(relative), size=item.size, sha256=item.sha256,
                                    fmt=item.fmt, columns=item.columns, created_at=utcnow())
                    session.add(upload)
                return upload
            except IntegrityError:
                continue
        target.unlink(missing_ok=True)
        raise RuntimeError(f"could not record a version of {item.name!r}")

    # --- reading ----------------------------------------------------------------------------------------
    def path_of(self, upload: Upload) -> Path:
        return self.root / upload.path

    def get(self, user_id: str, upload_id: str) -> Upload | None:
        with self.sessions() as session:
            upload = session.get(Upload, upload_id)
        return upload if upload is not None and upload.user_id == user_id else None

    def latest(self, user_id: str, kind: str) -> Upload | None:
        with self.sessions() as session:
            return session.scalar(select(Upload).where(Upload.user_id == user_id, Upload.kind == kind)
                                  .order_by(Upload.created_at.desc(), Upload.version.desc()).limit(1))

    def list(self, user_id: str, kind: str | None = None, limit: int = 200) -> list[Upload]:
        query = select(Upload).where(Upload.user_id == user_id)
        if kind:
            query = query.where(Upload.kind == kind)
        with self.sessions() as session:
            return list(session.scalars(query.order_by(Upload.created_at.desc()).limit(limit)))


def upload_view(upload: Upload) -> dict:
    return {"id": upload.id, "kind": upload.kind, "name": upload.name, "version": upload.version,
            "size": upload.size, "sha256": upload.sha256, "format": upload.fmt, "columns": upload.columns,
            "uploaded_at": iso(upload.created_at)}
