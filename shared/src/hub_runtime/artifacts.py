"""Artifacts of a task (screenshots, page HTML, later report files), kept in a local folder per task and
pruned after a retention period. The API lists and serves them; the worker writes them.

A saved page can hold what its forms were filled with, or what a real ERP echoed back (a login, a
customer's data): the values of its form fields are blanked before the page is written (`redact_html`).
The API serves an artifact only within its retention, and always as a download that a browser never runs
(see erp-api's route)."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
# an element's start tag, quoted attribute values may hold ">"; linear: no nested quantifiers over one char
_INPUT_TAG = re.compile(rb"""<input\b(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
_VALUE = re.compile(rb"""(\svalue\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s"'>]+)""", re.IGNORECASE)
_LABEL_TYPE = re.compile(rb"""\stype\s*=\s*["']?(?:submit|button|reset|image)\b""", re.IGNORECASE)
_TEXTAREA = re.compile(rb"(<textarea\b[^>]*>).*?(</textarea\s*>)", re.IGNORECASE | re.DOTALL)
REDACTED = b"[redacted]"


def redact_html(page: bytes) -> bytes:
    """The page with the value of every form field blanked to `[redacted]` (inputs of every type but the
    buttons, whose value is their label; textareas' contents)."""
    def input_tag(match: re.Match) -> bytes:
        tag = match.group(0)
        if _LABEL_TYPE.search(tag):
            return tag
        return _VALUE.sub(lambda m: m.group(1) + b'"' + REDACTED + b'"', tag)

    page = _INPUT_TAG.sub(input_tag, page)
    return _TEXTAREA.sub(lambda m: m.group(1) + REDACTED + m.group(2), page)


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
        if name.lower().endswith((".html", ".htm")):
            data = redact_html(data)
        folder = self.folder(task_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path

    def list(self, task_id: str, max_age_seconds: float | None = None) -> list[Artifact]:
        """The task's artifacts (those younger than `max_age_seconds`, if given)."""
        folder = self.folder(task_id)
        if not folder.is_dir():
            return []
        cutoff = time.time() - max_age_seconds if max_age_seconds is not None else 0.0
        found = []
        for path in folder.iterdir():
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                if stat.st_mtime >= cutoff:
                    found.append(Artifact(path.name, stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda a: a.name)

    def path(self, task_id: str, name: str, max_age_seconds: float | None = None) -> Path | None:
        """The file of an artifact, or None if there is none by that (safe) name, or it is older than
        `max_age_seconds` (past its retention, before the next prune removes it)."""
        if not _SAFE_NAME.match(name):
            return None
        path = self.folder(task_id) / name
        try:
            stat = path.stat()
        except OSError:
            return None
        if not path.is_file() or (max_age_seconds is not None and stat.st_mtime < time.time() - max_age_seconds):
            return None
        return path

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
