"""The engine's exceptions. Problems are plain dicts so the API can return them as JSON as they are."""

from __future__ import annotations

Problem = dict  # {"rule": str | None, "column": str | None, "position": int | None, "message": str}


def problem(message: str, rule: str | None = None, column: str | None = None, position: int | None = None) -> Problem:
    return {"rule": rule, "column": column, "position": position, "message": message}


def format_problem(p: Problem) -> str:
    where = []
    if p.get("rule") is not None:
        where.append(f"rule {p['rule']!r}")
    if p.get("column") is not None and p.get("column") != p.get("rule"):
        where.append(f"column {p['column']!r}")
    if p.get("position") is not None:
        where.append(f"position {p['position']}")
    return (", ".join(where) + ": " if where else "") + p["message"]


class RulesError(ValueError):
    """A rules file that cannot be used; `problems` lists every problem found, each pointing at its rule."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(format_problem(p) for p in self.problems))


class InputError(ValueError):
    """A bad input or reference file: empty, malformed CSV (with `line` when known), missing columns.

    `file` is "input" or "reference" (or None); `problems` lists header problems in the form RulesError uses.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 problems: list[Problem] | None = None):
        self.file = file
        self.line = line
        self.problems = list(problems or [])
        self.message = message
        text = message
        if self.problems:
            text += "\n" + "\n".join(format_problem(p) for p in self.problems)
        super().__init__(text)


class GenerationCancelled(RuntimeError):
    """generate() stopped because its cancel event was set; nothing was written."""
