"""The local provider's shared part: binaries, free ports, an unprivileged user for the
servers that refuse root, and server processes that are recorded, detached from the
terminal's signals, stoppable, and waited for."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .endpoint import Endpoint
from .errors import ProvisionError
from .running import Running, wait_until
from .runstate import RunState, process_start_time, stop_process

UNPRIVILEGED_USER = "nobody"
_WAIT_S = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    """Whether another process listens on 127.0.0.1:``port`` (or on every address), where a
    server golive starts would have to listen. A port only left in TIME_WAIT is free."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def run_as() -> str | None:
    """The user for a server that refuses root (postgres): ``nobody`` when golive runs as
    root, else golive's own (None). Servers that accept root (redis) run as golive's own
    user, which can read the binary it found (e.g. under /root)."""
    return UNPRIVILEGED_USER if os.geteuid() == 0 else None


def hand_over(path: Path, user: str | None) -> None:
    """Give a folder to the user a server runs as."""
    if user is not None:
        entry = pwd.getpwnam(user)
        for root, dirs, files in os.walk(path):
            for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
                os.chown(name, entry.pw_uid, entry.pw_gid)


def find_binary(name: str, env_var: str, extra_dirs: Sequence[Path] = ()) -> Path | None:
    """``$ENV_VAR``, then PATH, then known folders."""
    explicit = os.environ.get(env_var)
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    found = shutil.which(name)
    if found:
        return Path(
            found
        ).absolute()  # not resolved: a multi-call binary (Debian's redis-server -> redis-check-rdb) acts by its name
    for directory in extra_dirs:
        if (directory / name).is_file():
            return directory / name
    return None


def run_checked(state: RunState, argv: Sequence[str], what: str, timeout: float, user: str | None) -> None:
    """A short helper run (initdb...) as ``user``, recorded (a run killed meanwhile leaves it
    to golive cleanup), failing with its last output line."""
    try:
        process = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            user=user,
        )
    except OSError as exc:
        raise ProvisionError(_cannot_start(argv[0], user, exc)) from None
    start = process_start_time(process.pid)
    state.record("process", pid=process.pid, start=start, what=what)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ProvisionError(f"{what} did not finish within {timeout:g}s") from None
    finally:
        if process.returncode is None:  # timed out or interrupted: stop it and wait for it
            stop_child(process, start, signal.SIGKILL)
    if process.returncode != 0:
        last = (stderr or stdout).strip().splitlines()[-1:] or ["no output"]
        raise ProvisionError(f"{what} failed (exit {process.returncode}): {last[0]}")


def _cannot_start(binary: str, user: str | None, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if user is None:
        return f"cannot run {binary}: {reason}"
    return (
        f"cannot run {binary} as user {user!r}: {reason} (it refuses to run as root, so it runs as {user!r}, "
        f"who must be able to read it and every folder above it: install it elsewhere, or run golive as another user)"
    )


def start_server(
    state: RunState, argv: Sequence[str], what: str, log: Path, user: str | None
) -> subprocess.Popen[bytes]:
    """Start a server as ``user`` in its own session (so Ctrl-C reaches pytest, which then stops it)."""
    try:
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                user=user,
            )
    except OSError as exc:
        raise ProvisionError(_cannot_start(argv[0], user, exc)) from None
    state.record_process(process.pid, what)
    return process


def stop_child(process: subprocess.Popen[Any], start: int | None, sig: int = signal.SIGTERM) -> None:
    """Stop a child's process group, then wait for the child: a Popen dropped unwaited is a
    ResourceWarning (an error under ``filterwarnings = error``) and a zombie until exit."""
    stop_process(process.pid, start, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=_WAIT_S)  # already reaped by stop_process: returns at once


def log_tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


#: what redis-server and postgres log when another process took the free port first
_PORT_TAKEN = "Address already in use"
#: how many free ports a server is started on before its start fails
PORT_ATTEMPTS = 3


class PortTaken(ProvisionError):
    """The free port was taken between choosing it and the server binding it: another try."""


def on_a_free_port(start: Callable[[int], Running]) -> Running:
    """``start(port)`` on a free port, again on another when a process took it first."""
    for _ in range(PORT_ATTEMPTS - 1):
        try:
            return start(free_port())
        except PortTaken:
            continue
    return start(free_port())


def serve_locally(
    state: RunState,
    argv: Sequence[str],
    *,
    endpoint: Endpoint,
    probe: Callable[[Endpoint], None],
    stop_signal: int,
    log: Path,
    timeout_s: float,
    what: str,
    user: str | None,
) -> Running:
    """Start a recorded server process as ``user`` and wait until ``probe`` succeeds; on
    failure stop it and say why, with its log's last lines."""
    server = start_server(state, argv, what, log, user)
    start_time = process_start_time(server.pid)

    def stop() -> None:
        stop_child(server, start_time, stop_signal)

    def ready() -> None:
        if server.poll() is not None:
            failed = PortTaken if _PORT_TAKEN in log_tail(log) else ProvisionError
            raise failed(f"{Path(argv[0]).name} exited with status {server.returncode}: {log_tail(log, 2)}")
        probe(endpoint)

    try:
        wait_until(ready, timeout_s, what, lambda: log_tail(log))
    except ProvisionError:
        stop()
        raise
    return Running(endpoint, stop, {"pid": server.pid, "start": start_time, "log": str(log)})
