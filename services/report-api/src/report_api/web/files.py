"""Multipart uploads streamed to the staging folder, and the checks every received file goes through."""

from __future__ import annotations

from pathlib import Path

from flask import Request, current_app, request

from hub_runtime.web.errors import ApiError

from ..storage import Staged, Storage
from ..uploads import UploadError, check_csv, check_rules, rules_format


class StagingRequest(Request):
    """Writes each uploaded part straight to a file in the staging folder (werkzeug would spool it to a
    temporary file first); whatever is not recorded by the end of the request is deleted."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        handle = current_app.config["STORAGE"].new_staging_file()
        self.__dict__.setdefault("staging_paths", []).append(Path(handle.name))
        return handle


def drop_unrecorded_parts(_exc=None) -> None:
    """teardown_request: remove staged parts of this request that were not moved into place."""
    for path in request.__dict__.get("staging_paths", []):
        path.unlink(missing_ok=True)


def multipart() -> bool:
    return (request.mimetype or "").startswith("multipart/form-data")


def receive(storage: Storage, fields: dict[str, tuple[str, ...]], max_rules_bytes: int) -> list[Staged]:
    """Stage and check the files of this request. `fields` maps a kind (rules, input, reference) to the form
    field names that may carry it. A bad file is a 4xx naming it; nothing is recorded then."""
    known = {name for names in fields.values() for name in names}
    unknown = sorted(set(request.files) - known)
    if unknown:
        raise ApiError(400, "unknown_field", f"unexpected file field(s) {', '.join(unknown)}; expected "
                       f"{', '.join(sorted(known))}", {name: "not expected" for name in unknown})
    staged: list[Staged] = []
    try:
        for kind, names in fields.items():
            present = [name for name in names if name in request.files]
            if len(present) > 1 or (present and len(request.files.getlist(present[0])) > 1):
                raise ApiError(400, "duplicate_field", f"send one {kind} file", {present[0]: "given twice"})
            if not present:
                continue
            part = request.files[present[0]]
            part.stream.close()
            path = Path(part.stream.name)
            if kind == "rules":
                with open(path, "rb") as fh:
                    fmt = rules_format(part.filename, fh.read(64))
            else:
                fmt = "csv"
            item = storage.stage(kind, part.filename, path, fmt)
            staged.append(item)
            if kind == "rules":
                check_rules(item, max_rules_bytes)
            else:
                check_csv(item)
    except UploadError as exc:
        raise ApiError(exc.status, exc.code, exc.message, problem_fields(exc.problems)) from None
    return staged


def problem_fields(problems: list[dict]) -> dict[str, str] | None:
    """Rule problems as an error's `fields`: `rule` or `rule.column` → message (the first one of each)."""
    fields: dict[str, str] = {}
    for problem in problems[:50]:
        key = ".".join(str(p) for p in (problem.get("rule"), problem.get("column")) if p) or "rules"
        where = f" (at character {problem['position']})" if problem.get("position") is not None else ""
        fields.setdefault(key, f"{problem['message']}{where}")
    return fields or None
