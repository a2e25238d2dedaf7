"""Checking uploaded files before they are recorded: a rules file must parse, a CSV must have a header."""

from __future__ import annotations

from ...engine import InputError, RulesError, parse_rules
from ...engine.csv_input import sniff
from .uploads import Staged


class UploadError(Exception):
    def __init__(self, status: int, code: str, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.problems = status, code, message, problems or []


def rules_format(filename: str | None, head: bytes) -> str:
    """json or yaml, by the file's extension, else by its first character."""
    name = (filename or "").lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    return "json" if head.lstrip()[:1] in (b"{", b"[") else "yaml"


def check_rules(staged: Staged, max_bytes: int) -> None:
    if staged.size == 0:
        raise UploadError(400, "empty_file", f"the rules file {staged.name!r} is empty")
    if staged.size > max_bytes:
        raise UploadError(413, "rules_too_large", f"a rules file may have at most {max_bytes} bytes; "
                          f"{staged.name!r} has {staged.size}")
    try:
        parse_rules(staged.path.read_bytes(), staged.fmt)
    except RulesError as exc:
        raise UploadError(400, "invalid_rules", f"{staged.name}: {exc}", exc.problems) from None


def check_csv(staged: Staged) -> None:
    """The header, and the first rows (up to 10 000, 8 MiB) for malformed CSV; a bad row further on is found
    when the report runs, and ends it in `error` naming the line."""
    try:
        staged.columns = sniff(staged.path, label=staged.kind).header
    except InputError as exc:
        raise UploadError(400, "invalid_csv", f"{staged.name}: {exc}") from None
