"""Process supervision: keeps each integration's processes in the state the operator wants.

Like supervisord: a process that dies is restarted; one that dies within `fast_failure_seconds` of its start
counts as a fast failure and is restarted after an exponential backoff; after `fatal_after_fast_failures` in
a row the process is `failed` and left alone (its integration reads `failed`) until someone starts it
again. Other integrations are never touched. Stop is graceful (SIGTERM to the process group, then SIGKILL
after `stop_timeout_seconds`).

The backend is a port: `LocalProcessBackend` runs processes on this machine (each in its own session, so a
manager crash does not take them down; pid files let the next manager find and clean them up, so a
restart never doubles an instance). A Kubernetes backend comes with the deployment work.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from prometheus_client import Counter

from hub_runtime.kinds import ProcessSpec

log = logging.getLogger("manager.supervisor")

RESTARTS = Counter("hub_manager_restarts_total", "Instance processes restarted after they died",
                   ["integration", "role"])
BIN = Path(sys.executable).parent


class ProcessBackend(Protocol):
    def spawn(self, spec: ProcessSpec, env: dict[str, str], log_path: Path, pid_path: Path) -> object: ...
    def exit_code(self, handle) -> int | None: ...
    def terminate(self, handle, timeout: float) -> None: ...
    def kill(self, handle) -> None: ...
    def end_group(self, handle) -> None: ...
    def clean_up_leftovers(self, root: Path, timeout: float) -> list[str]: ...
    def missing(self, programs: tuple[str, ...]) -> list[str]: ...


class LocalProcessBackend:
    """Child processes of the manager, each the leader of its own process group."""

    def missing(self, programs):
        """The console scripts not installed beside the manager (a manager image holds only itself)."""
        return [program for program in programs if not (BIN / program).exists()]

    def spawn(self, spec, env, log_path, pid_path):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [str(BIN / spec.argv[0]), *spec.argv[1:]]
        with open(log_path, "ab") as log_file:
            popen = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, cwd=log_path.parent)
        pid_path.write_text(json.dumps({"pid": popen.pid, "argv": command, "started": time.time()}))
        return popen

    def exit_code(self, handle):
        return handle.poll()

    def terminate(self, handle, timeout):
        if handle.poll() is None:
            _signal_group(handle.pid, signal.SIGTERM)
            try:
                handle.wait(timeout)
                return
            except subprocess.TimeoutExpired:
                log.warning("pid %d ignored SIGTERM for %.0fs; killing it", handle.pid, timeout)
        self.kill(handle)

    def kill(self, handle):
        _signal_group(handle.pid, signal.SIGKILL)
        try:
            handle.wait(10)
        except subprocess.TimeoutExpired:
            log.error("pid %d survived SIGKILL", handle.pid)

    def end_group(self, handle, timeout: float = 5.0):
        """The leader has exited: SIGKILL what lives on in its process group (a gunicorn worker orphaned by a
        `kill -9` of its master keeps the API's port) and wait until it is gone, so a restart finds the port
        free. The group's id cannot be reused by a new process while any member is alive."""
        _signal_group(handle.pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while _group_members(handle.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if left := _group_members(handle.pid):
            log.error("process group %d: pids %s survived SIGKILL", handle.pid, left)

    def clean_up_leftovers(self, root, timeout):
        """Stop processes a previous manager started (found through their pid files)."""
        cleaned = []
        for pid_file in root.glob("*/*.pid"):
            try:
                record = json.loads(pid_file.read_text())
                pid = int(record["pid"])
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except (OSError, ValueError, KeyError):
                pid_file.unlink(missing_ok=True)
                continue
            if cmdline and record["argv"][0].encode() in cmdline[:3]:  # not a recycled pid
                _signal_group(pid, signal.SIGTERM)
                deadline = time.monotonic() + timeout
                while Path(f"/proc/{pid}").exists() and _is_running(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if _is_running(pid):
                    _signal_group(pid, signal.SIGKILL)
                cleaned.append(f"{pid_file.parent.name}/{pid_file.stem} (pid {pid})")
            pid_file.unlink(missing_ok=True)
        return cleaned


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        log.error("not allowed to signal process group %d", pid)


def _group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


@dataclass
class Proc:
    integration_id: str
    spec: ProcessSpec
    env: dict[str, str]
    folder: Path
    desired: str = "stopped"  # running | stopped
    state: str = "stopped"  # stopped | running | backoff | failed | stopping
    handle: object | None = None
    started_at: float = 0.0
    started_wall: float = 0.0
    restarts: int = 0
    fast_failures: int = 0
    next_start: float = 0.0
    last_error: str | None = None
    events: list = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.spec.role}.log"

    @property
    def pid_path(self) -> Path:
        return self.folder / f"{self.spec.role}.pid"

    def view(self) -> dict:
        uptime = round(time.monotonic() - self.started_at, 1) if self.state == "running" else None
        return {"role": self.spec.role, "state": self.state, "desired": self.desired,
                "pid": getattr(self.handle, "pid", None), "restarts": self.restarts, "uptime_seconds": uptime,
                "fast_failures": self.fast_failures, "last_error": self.last_error}


class Supervisor:
    def __init__(self, backend: ProcessBackend, root: Path, *, on_event=None, backoff_max: float = 30.0,
                 fast_failure_seconds: float = 10.0, fatal_after: int = 5, stop_timeout: float = 10.0,
                 log_max_bytes: int = 5 * 2**20, log_backups: int = 3, tick: float = 0.25):
        self.backend = backend
        self.root = root
        self.on_event = on_event or (lambda integration_id, event, detail: None)
        self.backoff_max = backoff_max
        self.fast_failure_seconds = fast_failure_seconds
        self.fatal_after = fatal_after
        self.stop_timeout = stop_timeout
        self.log_max_bytes = log_max_bytes
        self.log_backups = log_backups
        self.tick = tick
        self.procs: dict[tuple[str, str], Proc] = {}
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_rotation = 0.0

    # --- commands -----------------------------------------------------------------------------------
    def clean_up_leftovers(self) -> list[str]:
        self.root.mkdir(parents=True, exist_ok=True)
        cleaned = self.backend.clean_up_leftovers(self.root, self.stop_timeout)
        for entry in cleaned:
            log.warning("stopped a process left by a previous manager: %s", entry)
        return cleaned

    def run(self, integration_id: str, specs: list[ProcessSpec], env: dict[str, str],
            roles: tuple[str, ...] | None = None) -> None:
        """Start (or keep running) these processes of an integration with this configuration."""
        with self.lock:
            for spec in specs:
                if roles and spec.role not in roles:
                    continue
                proc = self.procs.get((integration_id, spec.role))
                if proc is None:
                    proc = Proc(integration_id, spec, {**env, **spec.env}, self.root / integration_id)
                    self.procs[(integration_id, spec.role)] = proc
                proc.spec, proc.env = spec, {**env, **spec.env}
                if proc.desired != "running" or proc.state == "failed":
                    proc.desired, proc.fast_failures, proc.next_start = "running", 0, 0.0
                    if proc.handle is None:
                        proc.state = "backoff"  # due now; the next tick starts it
                        self._spawn(proc)

    def stop(self, integration_id: str, roles: tuple[str, ...] | None = None, *, kill: bool = False) -> list[str]:
        """Stop processes gracefully (or with SIGKILL); returns the roles that were running."""
        with self.lock:
            procs = [p for (iid, role), p in self.procs.items()
                     if iid == integration_id and (not roles or role in roles)]
            for proc in procs:
                proc.desired = "stopped"
                proc.state = "stopping" if proc.handle is not None else "stopped"
        running = [(proc, proc.handle) for proc in procs if proc.handle is not None]

        def end(proc: Proc, handle) -> None:
            if kill:
                self.backend.kill(handle)
            else:
                self.backend.terminate(handle, self.stop_timeout)
            with self.lock:
                if proc.handle is handle:
                    self._reaped(proc, "killed" if kill else "stopped")

        threads = [threading.Thread(target=end, args=pair) for pair in running]  # API and worker at once
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [proc.spec.role for proc, _ in running]

    def forget(self, integration_id: str) -> None:
        self.stop(integration_id)
        with self.lock:
            for key in [k for k in self.procs if k[0] == integration_id]:
                del self.procs[key]

    def integration_ids(self) -> set[str]:
        """The integrations with processes under supervision (running, restarting, failed or stopped)."""
        with self.lock:
            return {iid for iid, _role in self.procs}

    def status(self, integration_id: str) -> dict:
        with self.lock:
            procs = {role: p.view() for (iid, role), p in self.procs.items() if iid == integration_id}
        states = {p["state"] for p in procs.values()}
        if not procs or states == {"stopped"}:
            overall = "stopped"
        elif "failed" in states:
            overall = "failed"
        elif states == {"running"}:
            overall = "running"
        elif "backoff" in states:
            overall = "restarting"
        else:
            overall = "partial"
        return {"state": overall, "processes": procs}

    def log_path(self, integration_id: str, role: str) -> Path:
        return self.root / integration_id / f"{role}.log"

    # --- the loop -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="supervisor", daemon=True)
        self._thread.start()

    def shutdown(self, stop_children: bool = True) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        if stop_children:
            with self.lock:
                ids = {iid for iid, _ in self.procs}
            threads = [threading.Thread(target=self.stop, args=(iid,)) for iid in ids]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.check()
            except Exception:
                log.exception("supervisor tick failed")

    def check(self) -> None:
        """One pass: reap exits, schedule restarts, start what is due, rotate logs."""
        now = time.monotonic()
        with self.lock:
            for proc in list(self.procs.values()):
                if proc.handle is not None:
                    code = self.backend.exit_code(proc.handle)
                    if code is None:
                        if proc.fast_failures and now - proc.started_at >= self.fast_failure_seconds:
                            proc.fast_failures = 0  # stable again
                        continue
                    if proc.desired == "running":
                        self._died(proc, code, now)
                    else:
                        self._reaped(proc, "stopped")
                elif proc.desired == "running" and proc.state == "backoff" and now >= proc.next_start:
                    self._spawn(proc)
        if now >= self._next_rotation:
            self._rotate_logs()
            self._next_rotation = now + 10

    def _spawn(self, proc: Proc) -> None:
        try:
            proc.handle = self.backend.spawn(proc.spec, proc.env, proc.log_path, proc.pid_path)
        except OSError as exc:
            proc.handle = None
            proc.last_error = f"cannot start: {exc}"
            self._failed_start(proc, time.monotonic())
            return
        proc.started_at, proc.started_wall, proc.state = time.monotonic(), time.time(), "running"
        self.on_event(proc.integration_id, f"{proc.spec.role}_started", f"pid {proc.handle.pid}")

    def _died(self, proc: Proc, code: int, now: float) -> None:
        uptime = now - proc.started_at
        reason = f"signal {-code}" if code < 0 else f"exit code {code}"
        proc.last_error = f"{proc.spec.role} died ({reason}) after {uptime:.1f}s"
        self.backend.end_group(proc.handle)
        proc.handle = None
        proc.pid_path.unlink(missing_ok=True)
        RESTARTS.labels(proc.integration_id, proc.spec.role).inc()
        proc.restarts += 1
        self.on_event(proc.integration_id, f"{proc.spec.role}_died", proc.last_error)
        log.warning("%s: %s", proc.integration_id, proc.last_error)
        if uptime < self.fast_failure_seconds:
            self._failed_start(proc, now)
        else:
            proc.fast_failures, proc.state, proc.next_start = 0, "backoff", now + 0.2

    def _failed_start(self, proc: Proc, now: float) -> None:
        proc.fast_failures += 1
        if proc.fast_failures >= self.fatal_after:
            proc.state = "failed"
            self.on_event(proc.integration_id, f"{proc.spec.role}_failed",
                          f"{proc.fast_failures} fast failures in a row; last: {proc.last_error}")
            log.error("%s: %s failed %d times in a row; giving up", proc.integration_id, proc.spec.role,
                      proc.fast_failures)
            return
        delay = min(self.backoff_max, 0.5 * 2 ** (proc.fast_failures - 1))
        proc.state, proc.next_start = "backoff", now + delay

    def _reaped(self, proc: Proc, how: str) -> None:
        self.backend.end_group(proc.handle)
        proc.handle = None
        proc.state = "stopped"
        proc.pid_path.unlink(missing_ok=True)
        self.on_event(proc.integration_id, f"{proc.spec.role}_{how}", None)

    def _rotate_logs(self) -> None:
        """copytruncate: the child keeps writing (O_APPEND) to the same file, which starts again at 0."""
        with self.lock:
            paths = [p.log_path for p in self.procs.values()]
        for path in paths:
            try:
                if path.stat().st_size <= self.log_max_bytes:
                    continue
            except OSError:
                continue
            for n in range(self.log_backups - 1, 0, -1):
                older = path.with_name(f"{path.name}.{n}")
                if older.exists():
                    older.replace(path.with_name(f"{path.name}.{n + 1}"))
            shutil.copyfile(path, path.with_name(f"{path.name}.1"))
            with open(path, "r+b") as fh:
                fh.truncate(0)
