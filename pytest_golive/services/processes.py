"""The local provider's shared part: binaries, free ports, an unprivileged user, and
server processes that are recorded, detached from the terminal's signals, and stoppable."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from .endpoint import Endpoint
from .errors import ProvisionError
from .running import Running, wait_until
from .runstate import RunState, process_start_time, stop_process

UNPRIVILEGED_USER = "nobody"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_as() -> str | None:
    """Servers such as postgres refuse root: run them as ``nobody`` then."""
    return UNPRIVILEGED_USER if os.geteuid() == 0 else None


def hand_over(path: Path) -> None:
    """Give a folder to the user the servers run as."""
    user = run_as()
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
        return Path(found).resolve()
    for directory in extra_dirs:
        if (directory / name).is_file():
            return directory / name
    return None


def run_checked(argv: Sequence[str], what: str, timeout: float) -> None:
    """A short helper run (initdb...), failing with its last output line."""
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, user=run_as(), check=False)
    except subprocess.TimeoutExpired:
        raise ProvisionError(f"{what} did not finish within {timeout:g}s") from None
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ProvisionError(f"{what} failed (exit {result.returncode}): {last[0]}")


def start_server(state: RunState, argv: Sequence[str], what: str, log: Path) -> subprocess.Popen[bytes]:
    """Start a server in its own session (so Ctrl-C reaches pytest, which then stops it)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=run_as(),
        )
    state.record_process(process.pid, what)
    return process


def log_tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


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
) -> Running:
    """Start a recorded server process and wait until ``probe`` succeeds; on failure stop it
    and say why, with its log's last lines."""
    server = start_server(state, argv, what, log)
    start_time = process_start_time(server.pid)

    def stop() -> None:
        stop_process(server.pid, start_time, stop_signal)

    def ready() -> None:
        if server.poll() is not None:
            raise ProvisionError(f"{Path(argv[0]).name} exited with status {server.returncode}: {log_tail(log, 2)}")
        probe(endpoint)

    try:
        wait_until(ready, timeout_s, what, lambda: log_tail(log))
    except ProvisionError:
        stop()
        raise
    return Running(endpoint, stop, {"pid": server.pid, "start": start_time})
