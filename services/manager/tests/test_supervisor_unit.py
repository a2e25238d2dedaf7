"""The supervisor's state machine with a scripted backend (no processes): restarts, backoff, failed,
stop, and log rotation."""

from __future__ import annotations

import itertools

from hub_runtime.kinds import ProcessSpec
from manager.supervisor import Supervisor


class FakeHandle:
    pids = itertools.count(1000)

    def __init__(self):
        self.pid = next(self.pids)
        self.code: int | None = None


class FakeBackend:
    def __init__(self):
        self.spawned: list[FakeHandle] = []
        self.groups_ended: list[int] = []

    def spawn(self, spec, env, log_path, pid_path):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.spawned.append(FakeHandle())
        return self.spawned[-1]

    def exit_code(self, handle):
        return handle.code

    def terminate(self, handle, timeout):
        handle.code = -15

    def kill(self, handle):
        handle.code = -9

    def end_group(self, handle):
        self.groups_ended.append(handle.pid)

    def clean_up_leftovers(self, root, timeout):
        return []


SPECS = [ProcessSpec("api", ["erp-api"]), ProcessSpec("worker", ["erp-worker"])]


def make(tmp_path, clock, **kwargs):
    events = []
    supervisor = Supervisor(FakeBackend(), tmp_path, on_event=lambda *e: events.append(e[1]),
                            fast_failure_seconds=10, fatal_after=3, backoff_max=4, **kwargs)
    supervisor_time = [0.0]
    clock.setattr("manager.supervisor.time.monotonic", lambda: supervisor_time[0])
    return supervisor, supervisor_time, events


def test_a_process_that_dies_is_restarted_and_a_crash_loop_ends_failed(tmp_path, monkeypatch):
    supervisor, now, events = make(tmp_path, monkeypatch)
    supervisor.run("erp-a", SPECS, {})
    assert supervisor.status("erp-a")["state"] == "running"
    backend = supervisor.backend
    # the worker dies after 60 s: restarted at once (after one tick)
    now[0] = 60
    supervisor.procs[("erp-a", "worker")].handle.code = 1
    supervisor.check()
    now[0] = 60.3
    supervisor.check()
    assert len(backend.spawned) == 3 and supervisor.status("erp-a")["state"] == "running"
    # now it dies at once, three times: backoff 0.5 s, 1 s, then failed
    for delay in (0.5, 1.0):
        supervisor.procs[("erp-a", "worker")].handle.code = 1
        supervisor.check()
        assert supervisor.status("erp-a")["processes"]["worker"]["state"] == "backoff"
        now[0] += delay - 0.01
        supervisor.check()
        assert supervisor.procs[("erp-a", "worker")].handle is None  # not yet
        now[0] += 0.02
        supervisor.check()
        assert supervisor.procs[("erp-a", "worker")].handle is not None
    supervisor.procs[("erp-a", "worker")].handle.code = 1
    supervisor.check()
    status = supervisor.status("erp-a")
    assert status["state"] == "failed" and status["processes"]["api"]["state"] == "running"
    assert status["processes"]["worker"]["restarts"] == 4 and "worker_failed" in events
    spawned = len(backend.spawned)
    now[0] += 100
    supervisor.check()
    assert len(backend.spawned) == spawned  # left alone
    supervisor.run("erp-a", SPECS, {}, roles=("worker",))  # the operator starts it again
    assert supervisor.status("erp-a")["state"] == "running"


def test_surviving_the_fast_failure_window_resets_the_count(tmp_path, monkeypatch):
    supervisor, now, _ = make(tmp_path, monkeypatch)
    supervisor.run("erp-a", SPECS, {})
    for _ in range(2):
        supervisor.procs[("erp-a", "api")].handle.code = 1
        supervisor.check()
        now[0] += 5
        supervisor.check()
    assert supervisor.procs[("erp-a", "api")].fast_failures == 2
    now[0] += 11
    supervisor.check()
    assert supervisor.procs[("erp-a", "api")].fast_failures == 0


def test_stop_is_not_followed_by_a_restart(tmp_path, monkeypatch):
    supervisor, now, events = make(tmp_path, monkeypatch)
    supervisor.run("erp-a", SPECS, {})
    assert sorted(supervisor.stop("erp-a", ("worker",))) == ["worker"]
    now[0] += 50
    supervisor.check()
    status = supervisor.status("erp-a")
    assert status["processes"]["worker"]["state"] == "stopped" and status["state"] == "partial"
    assert supervisor.stop("erp-a", kill=True) == ["api"] and supervisor.status("erp-a")["state"] == "stopped"
    assert "worker_stopped" in events and "api_killed" in events


def test_logs_are_rotated_by_copy_truncate(tmp_path, monkeypatch):
    supervisor, now, _ = make(tmp_path, monkeypatch, log_max_bytes=100, log_backups=2)
    supervisor.run("erp-a", SPECS[:1], {})
    log = supervisor.log_path("erp-a", "api")
    for round_ in range(3):
        log.write_text(f"round {round_}\n" * 20)
        supervisor._rotate_logs()
        assert log.stat().st_size == 0
    assert (tmp_path / "erp-a" / "api.log.1").read_text().startswith("round 2")
    assert (tmp_path / "erp-a" / "api.log.2").read_text().startswith("round 1")
    assert not (tmp_path / "erp-a" / "api.log.3").exists()
