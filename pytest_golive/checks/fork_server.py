"""A warm interpreter for a migration command that is a Python program: the steps of one
walk are forks of this process, so the interpreter starts, and the libraries import, once.

golive starts this file with the command's own interpreter (``python -c BOOT fork_server.py``,
as alembic_driver.py), with exactly the environment and folder a step gets in its own process
(the walk's scratch database, every other database variable removed). Standard library only.

Messages are JSON lines (driver_protocol.open_channel). Each ``run`` request forks a child
that takes the step's argv, environment and folder, a session of its own, stdout and stderr
in files golive reads, and runs the program as ``python -m MODULE`` or the script would
(runpy). The reply names the child at once (so golive can stop it on Ctrl-C), then its exit
status; the child's process group is killed here after its timeout, and whatever it left
running in its group when it ended.

What makes it warm: the first child writes down the third-party modules it imported (files
under site-packages or dist-packages, none of the project's own), and ``preload`` imports
them here, with the walk's environment, before the next fork. Each is imported in the
environment it saw in that child: a program that changes its own environment as it runs
(``flask`` loads .flaskenv and .env before it imports the app) is followed, the variables it
set being set here after the modules it imported before setting them. A module whose import
opens a socket or starts a thread would hand a shared connection or a lost lock to every
child: the preload stops before it and says which."""

from __future__ import annotations

import atexit
import contextlib
import importlib
import importlib.util
import json
import os
import runpy
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import driver_protocol as protocol
else:  # run by path in the app's interpreter, outside golive's package: its neighbour is loaded by path too
    _spec = importlib.util.spec_from_file_location("golive_protocol", Path(__file__).with_name("driver_protocol.py"))
    protocol = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(protocol)

_LIBRARY_FOLDERS = frozenset({"site-packages", "dist-packages"})


#: the step running now, whose process group goes with this process when golive stops it
_running: list[int] = []


def main() -> None:
    signal.signal(signal.SIGTERM, _stopped)
    settings, reply, requests = protocol.open_channel()
    projects = [Path(folder) for folder in settings["projects"]]
    preload(settings.get("preload"), reply)
    for request in requests:
        if "preload" in request:
            preload(request["preload"], reply)
            continue
        before = set(sys.modules)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # until the child is known
        pid = fork_step(request, before, projects)
        _running.append(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        reply(child=pid)
        reply(**wait_for(pid, float(request["timeout"])))
        _running.remove(pid)


def _stopped(signum: int, frame: object) -> None:
    for pid in _running:
        _kill_group(pid)
    os._exit(128 + signum)


def preload(learned: dict[str, Any] | None, reply: Any) -> None:
    """Import what the first step imported, ``modules``, setting ``env`` after the first
    ``env_at`` of them as the step did; stop at the first module that leaves a socket or a
    thread behind (forked children would share it)."""
    learned = learned or {"modules": [], "env_at": 0, "env": {}}
    for index, name in enumerate(learned["modules"]):
        if index == learned["env_at"]:
            os.environ.update(learned["env"])
        sockets, threads = _sockets(), threading.active_count()
        try:
            importlib.import_module(name)
        except Exception:  # the step imports it again, and reports its error itself
            continue
        if _sockets() > sockets or threading.active_count() > threads:
            reply(preloaded=index, tainted=name)
            return
    reply(preloaded=len(learned["modules"]))


def fork_step(request: dict[str, Any], before: set[str], projects: list[Path]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        os.setsid()
        code = run_step(request, before, projects)
    finally:
        os._exit(code)


def run_step(request: dict[str, Any], before: set[str], projects: list[Path]) -> int:
    """In the child: become the step's process, run the program, and return its exit status."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if not request.get("learn"):
        return _exit_status(request)
    before_change: list[set[str]] = []

    def first_change(event: str, args: object) -> None:
        if not before_change and event in ("os.putenv", "os.unsetenv"):
            before_change.append(set(sys.modules))

    sys.addaudithook(first_change)
    code = _exit_status(request)
    learned = [name for name in sys.modules if name not in before and _is_library(name, projects)]
    unchanged = before_change[0] if before_change else set(sys.modules)
    env_at = sum(name in unchanged for name in learned)
    learned.sort(key=lambda name: name not in unchanged)  # stable: the order of import on each side
    env = {name: value for name, value in os.environ.items() if request["env"].get(name) != value}
    Path(request["learn"]).write_text(json.dumps({"modules": learned, "env_at": env_at, "env": env}))
    return code


def _exit_status(request: dict[str, Any]) -> int:
    """What ``python -m MODULE args`` or ``SCRIPT args`` would exit with, output flushed and
    the exit handlers run."""
    try:
        if request.get("module"):
            sys.argv = ["-m", *request["args"]]
            sys.path[0] = request["cwd"]
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        else:
            sys.argv = [request["script"], *request["args"]]
            sys.path[0] = os.path.dirname(request["script"])
            runpy.run_path(request["script"], run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = _system_exit_code(exc.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 130
    except BaseException:  # as the interpreter would: the traceback on stderr, status 1
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120
    return code


def _system_exit_code(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _is_library(name: str, projects: list[Path]) -> bool:
    """A third-party module: its file is in site-packages or dist-packages, and no module of
    that name lives in the project's folders (an app installed into its own virtualenv)."""
    if name == "__main__" or name.endswith(".__main__"):
        return False
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    if not path or _LIBRARY_FOLDERS.isdisjoint(Path(path).parts):
        return False
    top = name.partition(".")[0]
    folders = [*projects, *(project / "src" for project in projects)]
    return not any((folder / top).exists() or (folder / f"{top}.py").exists() for folder in folders)


def wait_for(pid: int, timeout_s: float) -> dict[str, Any]:
    """The child's exit status; after ``timeout_s`` its process group is killed. Whatever it
    left in its group goes too, before the child is reaped (so the group id is still its)."""
    deadline = time.monotonic() + timeout_s
    timed_out = False
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if not timed_out and time.monotonic() > deadline:
            timed_out = True
            _kill_group(pid)
        time.sleep(0.005)
    _kill_group(pid)
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)  # as subprocess has it
    return {"exit": code, "timed_out": timed_out}


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _sockets() -> int:
    """How many sockets this process holds (0 where /proc cannot tell)."""
    count = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


if __name__ == "__main__":
    main()
