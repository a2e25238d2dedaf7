"""The files of a rules request: each part staged, checked and only then kept as an upload."""

from __future__ import annotations

from pathlib import Path

from flask import request

from hub_runtime.web.errors import ApiError

from .checks import UploadError, check_csv, check_rules, rules_format
from .uploads import Staged, Uploads


def receive(uploads: Uploads, fields: dict[str, tuple[str, ...]], max_rules_bytes: int) -> list[Staged]:
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
            item = uploads.stage(kind, part.filename, path, fmt)
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
