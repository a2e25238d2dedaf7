"""Artifacts of a task (screenshots, page HTML, later report files), kept in a local folder per task and
pruned after a retention period. The API lists and serves them; the worker writes them."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


@dataclass(frozen=True)
class Artifact:
    name: str
    size: int
    modified: float


class ArtifactStore:
    def __init__(self, root: Path):
        self.root = root

    def folder(self, task_id: str) -> Path:
        if not _SAFE_NAME.match(task_id):
            raise ValueError(f"bad task id {task_id!r}")
        return self.root / task_id

    def write(self, task_id: str, name: str, data: bytes) -> Path:
        if not _SAFE_NAME.match(name):
            raise ValueError(f"bad artifact name {name!r}")
        folder = self.folder(task_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path

    def list(self, task_id: str) -> list[Artifact]:
        folder = self.folder(task_id)
        if not folder.is_dir():
            return []
        return sorted((Artifact(p.name, p.stat().st_size, p.stat().st_mtime) for p in folder.iterdir()
                       if p.is_file() and not p.name.startswith(".")), key=lambda a: a.name)

    def path(self, task_id: str, name: str) -> Path | None:
        """The file of an artifact, or None if there is none by that (safe) name."""
        if not _SAFE_NAME.match(name):
            return None
        path = self.folder(task_id) / name
        return path if path.is_file() else None

    def prune(self, max_age_seconds: float) -> int:
        """Delete the artifacts of tasks untouched for longer than `max_age_seconds`; returns how many
        task folders went."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - max_age_seconds
        removed = 0
        for folder in self.root.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
