"""Cron expressions as the hub's schedulers use them (report-api's schedules, amazon-sync's syncs): parsing
with a message that says what is wrong, the next ticks, and how a scheduler that was down catches up.
Times are naive UTC. Expressions have 5 fields (minute hour day month weekday) or 6, the sixth being
seconds (`* * * * * */10`: every ten seconds)."""

from __future__ import annotations

from datetime import datetime, timedelta

from croniter import croniter

MAX_COALESCED = 100_000  # ticks counted when catching up; a `* * * * * *` schedule down for a day is 86 400


class CronError(ValueError):
    pass


def parse_cron(expression: str) -> str:
    """The expression normalised, or `CronError` saying what is wrong."""
    expression = " ".join((expression or "").split())
    fields = expression.split(" ") if expression else []
    if len(fields) not in (5, 6):
        raise CronError(f"a cron expression has 5 fields (minute hour day month weekday) or 6 (plus seconds); "
                        f"got {len(fields)}")
    if not croniter.is_valid(expression):
        raise CronError(f"{expression!r} is not a valid cron expression")
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except (ValueError, KeyError, OverflowError) as exc:  # e.g. 30 February: valid fields, never fires
        raise CronError(f"{expression!r} never fires: {exc}") from None
    return expression


def next_runs(expression: str, after: datetime, count: int = 5) -> list[datetime]:
    it = croniter(expression, after)
    return [it.get_next(datetime) for _ in range(count)]


def latest_due(expression: str, first_due: datetime, now: datetime) -> tuple[datetime, int, datetime]:
    """Missed ticks coalesced: (the latest tick at or before `now`, how many earlier ticks it stands for,
    the next tick after `now`)."""
    it = croniter(expression, first_due - timedelta(microseconds=1))
    tick = it.get_next(datetime)
    missed = 0
    following = it.get_next(datetime)
    while following <= now and missed < MAX_COALESCED:
        tick, following = following, it.get_next(datetime)
        missed += 1
    if following <= now:  # gave up counting: jump straight to the future
        following = croniter(expression, now).get_next(datetime)
    return tick, missed, following
