"""The system under test as a subprocess: templated env, setup commands, a free port, a
readiness probe, a log file whose tail explains failures, and a process group stopped
at the end."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..checklist import App
from ..checklist.templating import TemplateProblem, render
from ..checklist.yamlsource import DocPath
from .database_names import dotenv_databases, without_databases
from .errors import ProvisionError
from .processes import free_port, port_in_use, stop_child
from .runstate import RunState, process_start_time
from .sqlite_files import Baseline, shared_baseline
from .tracked_files import TrackedBaseline
from .tracked_files import shared_baseline as shared_tracked_baseline

_POLL_S = 0.05
#: how many of the app log's last lines a failure report shows
LOG_TAIL_LINES = 30
#: a setup command (a deploy-time migration) that runs longer than this is stuck
SETUP_TIMEOUT_S = 600.0
#: a worker that exits this soon after it started (a wrong module, a missing setting) failed to start
WORKER_GRACE_S = 1.0
COVERAGE_DIR = "app-coverage"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")

#: Started at interpreter startup from PYTHONPATH, as coverage.py documents for subprocesses:
#: any Python process the app's command ends in is measured (``sh -c 'migrate && serve'``,
#: console scripts, gunicorn workers). It then runs the sitecustomize it shadows, if any.
_STARTUP_HOOK = '''\
"""Written by pytest-golive: starts coverage.py in every Python process of the app."""
import os

if os.environ.get("COVERAGE_PROCESS_START"):
    try:
        import coverage
    except ImportError:
        pass
    else:
        coverage.process_startup()


def _run_shadowed():
    import importlib.machinery
    import importlib.util
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_run_shadowed()
'''


class AppStartError(ProvisionError):
    """The app did not start. ``doc_path`` locates the cause in the checklist when it is
    written there; ``details`` are the lines that explain it (the log's tail)."""

    def __init__(self, message: str, *, doc_path: DocPath = ("app",), details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.doc_path = doc_path
        self.details = list(details)


def resolve_python(written: str | None, base_dir: Path) -> str:
    """``app.python`` as rendered: a path with a folder in it is relative to the checklist's
    folder, a bare name is looked up on PATH; nothing written means golive's own interpreter."""
    if not written:
        return sys.executable
    if os.sep in written or (os.altsep and os.altsep in written):
        return str((base_dir / written).absolute())
    return shutil.which(written) or written


def render_python(app: App | None, base_dir: Path, context: Mapping[str, Any]) -> str:
    """``{{ app.python }}``: ``app.python`` rendered (it may use env and vars) and resolved."""
    if app is None or app.python is None:
        return sys.executable
    try:
        return resolve_python(os_string(render(app.python, context, ("app", "python")), ("app", "python")), base_dir)
    except TemplateProblem as problem:
        raise AppStartError(problem.message, doc_path=problem.doc_path) from None


def os_string(value: Any, doc_path: DocPath) -> str:
    """A rendered template value as the OS needs it (argv, environment): numbers and booleans
    become text; anything else is a located problem."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    what = {dict: "a mapping", list: "a list", type(None): "null"}.get(type(value), type(value).__name__)
    raise TemplateProblem(doc_path, f"expected a string, number or boolean, got {what}")


def app_environment(app: App, context: Mapping[str, Any]) -> dict[str, str]:
    """``app.env`` rendered with ``context`` and made strings; raises TemplateProblem.

    Also for drills that run the app's code against a database of their own: they render
    it with their own ``services`` view."""
    rendered = render(app.env, context, ("app", "env"))
    return {name: os_string(value, ("app", "env", name)) for name, value in rendered.items()}


def render_argv(argv: Sequence[Any], context: Mapping[str, Any], doc_path: DocPath) -> list[str]:
    rendered = render(list(argv), context, doc_path)
    return [os_string(part, (*doc_path, index)) for index, part in enumerate(rendered)]


def coverage_environment(state: RunState, python: str, environ: Mapping[str, str]) -> dict[str, str]:
    """What makes every Python process of the app measure itself into the run's folder:
    ``COVERAGE_PROCESS_START`` and a startup hook on ``PYTHONPATH``."""
    probe = subprocess.run(
        [python, "-c", "import coverage"], env=dict(environ), capture_output=True, check=False, timeout=60
    )
    if probe.returncode != 0:
        raise AppStartError(
            f"app.coverage: coverage.py is not importable by the app's interpreter {python}; "
            f"install it there ({python} -m pip install coverage) or set app.python",
            doc_path=("app", "coverage"),
        )
    folder = state.directory / COVERAGE_DIR
    hook = folder / "startup"
    hook.mkdir(parents=True, exist_ok=True)
    (hook / "sitecustomize.py").write_text(_STARTUP_HOOK)
    rcfile = folder / "coveragerc"
    rcfile.write_text(f"[run]\nparallel = true\nsigterm = true\ndata_file = {folder / '.coverage'}\n")
    path = os.pathsep.join(filter(None, [str(hook), environ.get("PYTHONPATH")]))
    return {"COVERAGE_PROCESS_START": str(rcfile), "PYTHONPATH": path}


def write_app_coverage(state: RunState, target: Path) -> bool:
    """Combine every app process's data (all xdist workers') into one Cobertura XML."""
    import coverage  # noqa: PLC0415  (only runs that measure the app pay for the import)

    folder = state.directory / COVERAGE_DIR
    parts = sorted(folder.glob(".coverage.*")) if folder.is_dir() else []
    if not parts:
        return False
    combined = coverage.Coverage(data_file=str(folder / ".coverage"), config_file=False)
    combined.combine([str(part) for part in parts])
    combined.save()
    target.parent.mkdir(parents=True, exist_ok=True)
    combined.xml_report(outfile=str(target), ignore_errors=True)
    return True


def log_lines(log: Path | None, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a log, without terminal colour codes."""
    if log is None:
        return []
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    return clean_lines(text)[-lines:]


def clean_lines(text: str) -> list[str]:
    """A log's non-blank lines without terminal colour codes (also for the log kind)."""
    cleaned = [_ANSI.sub("", line).rstrip() for line in text.splitlines()]
    return [line for line in cleaned if line.strip()]


class AppProcess:
    """One app process. ``python`` is what ``{{ app.python }}`` renders to; ``keep_log`` is
    called with the log file each time the app stops (the run keeps a redacted copy);
    ``learn_env`` is given the rendered ``env`` before the app runs (the run's Redactor learns
    its secrets), so that a start that fails, its log shown and kept, hides them too."""

    def __init__(
        self,
        state: RunState,
        app: App,
        name: str,
        *,
        python: str | None = None,
        keep_log: Callable[[Path], None] | None = None,
        learn_env: Callable[[Mapping[str, str]], None] = lambda env: None,
    ) -> None:
        self.state = state
        self.app = app
        self.name = name
        self.python = python or sys.executable
        self.keep_log = keep_log
        self.learn_env = learn_env
        self.process: subprocess.Popen[bytes] | None = None
        #: the running workers (app.workers) and their kernel start times
        self.workers: list[tuple[subprocess.Popen[bytes], int | None]] = []
        self.log: Path | None = None
        self._start_time: int | None = None
        self._context: Mapping[str, Any] = {}
        self.port: int | None = None
        #: the environment golive gave the app (on top of its own), as rendered
        self.env: dict[str, str] = {}
        self._set_up = False
        #: ``{{ app.data_dir }}``: an empty folder of this run's, removed with it, for what the
        #: deployment keeps on a volume (``VOLUME /app/data``) rather than in a folder of the host's
        self.data_dir: Path | None = None
        #: the SQLite databases in the app's folder before its setup first ran (services/sqlite_files.py)
        self.sqlite: Baseline | None = None
        #: the tracked files of the app's git checkout that differed from the index then (tracked_files.py)
        self.tracked: TrackedBaseline | None = None
        #: set when the run ends while the app is still starting (in a thread: SessionServices)
        self._cancelled = threading.Event()
        #: called once its setup is done, just before the app's own process starts
        self.before_serving: Callable[[], None] = lambda: None

    def cancel(self) -> None:
        """Make a start under way give up at its next poll (its setup command is killed)."""
        self._cancelled.set()

    def start(self, context: Mapping[str, Any], port: int | None = None) -> str:
        """Run the setup commands, start the app and wait until it is ready; returns its base URL."""
        assert self.app.command is not None
        self._context = context
        port = port or self.app.port or free_port()
        self.port = port
        base_url = f"http://127.0.0.1:{port}"
        if self.data_dir is None:  # once: a restart keeps what the app wrote, as a volume would
            self.data_dir = self.state.private_dir("app-data")
        own = {"port": port, "base_url": base_url, "python": self.python, "data_dir": str(self.data_dir)}
        full_context = {**context, "app": own}
        try:
            argv = render_argv(self.app.command, full_context, ("app", "command"))
            setup = [render_argv(argv, full_context, ("app", "setup", i)) for i, argv in enumerate(self.app.setup)]
            workers = [
                render_argv(argv, full_context, ("app", "workers", i)) for i, argv in enumerate(self.app.workers)
            ]
            self.env = app_environment(self.app, full_context)
        except TemplateProblem as problem:
            raise AppStartError(problem.message, doc_path=problem.doc_path) from None
        self.learn_env(self.env)
        self._refuse_dotenv_databases()
        self._take_baselines()
        # a database the user's shell names is not one golive made: app.env names the app's
        environ = {**without_databases(os.environ), **self.env, "PORT": str(port)}
        if self.app.coverage:
            environ.update(coverage_environment(self.state, self.python, environ))
        if self.log is None:
            self.log = self.state.private_dir(f"app-{self.name}") / "app.log"
        if not self._set_up:  # once: a restart (a fault's recovery) is not a new deploy
            try:
                for index, command in enumerate(setup):
                    self._run_setup(index, command, environ)
            except ProvisionError:
                self.stop()  # keeps the whole log: the report shows only its tail
                raise
            self._set_up = True
        if self._cancelled.is_set():
            raise AppStartError("the run ended before the app started")
        self._refuse_taken(port)
        self.before_serving()
        try:
            with self.log.open("ab") as out:
                self.process = subprocess.Popen(
                    argv,
                    cwd=self.app.cwd,
                    env=environ,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
        except OSError as exc:
            raise AppStartError(
                f"app command {argv[0]!r} could not start: {exc.strerror}", doc_path=("app", "command")
            ) from None
        self._start_time = process_start_time(self.process.pid)
        self.state.record("process", pid=self.process.pid, start=self._start_time, what=f"app {self.name}")
        try:
            self._wait_ready(base_url, port)
            self._start_workers(workers, environ)
        except ProvisionError:
            self.stop()
            raise
        return base_url

    def _take_baselines(self) -> None:
        """Before anything of the app runs, once: what a write in its folder would change."""
        folder = self.app.cwd or Path.cwd()
        if self.sqlite is None:
            self.sqlite = shared_baseline(self.state.directory, folder)
        if self.tracked is None:
            self.tracked = shared_tracked_baseline(self.state.directory, folder)

    def _start_workers(self, commands: list[list[str]], environ: Mapping[str, str]) -> None:
        """The app's background processes, once it is ready (its setup has migrated), their
        output in its log; one that is gone within WORKER_GRACE_S did not start."""
        for index, argv in enumerate(commands):
            where: DocPath = ("app", "workers", index)
            cannot = f"app worker {argv[0]!r} could not start"
            self.workers.append(self._spawn(argv, environ, where, cannot, f"app {self.name} worker {index}"))
        deadline = time.monotonic() + (WORKER_GRACE_S if commands else 0.0)
        while time.monotonic() < deadline:
            for index, (process, _) in enumerate(self.workers):
                if (code := process.poll()) is not None:
                    raise AppStartError(
                        f"exited with status {code} as it started",
                        doc_path=("app", "workers", index),
                        details=self.log_lines(),
                    )
            time.sleep(_POLL_S)

    def _refuse_taken(self, port: int) -> None:
        """Another process listening on the app's port would answer the readiness probe and
        every check in the app's place, even after the app failed to bind it and exited."""
        if not port_in_use(port):
            return
        if self.app.port:
            raise AppStartError(
                f"port {port} on 127.0.0.1 is in use by another process, so checks would reach it instead "
                "of the app: stop it, or leave out app.port for a free one",
                doc_path=("app", "port"),
            )
        raise AppStartError(f"another process took the free port {port} chosen for the app before it started")

    def _refuse_dotenv_databases(self) -> None:
        """The app's own .env may point it at a database golive did not make: unless app.env
        sets that name (which wins over .env), nothing of the app may run."""
        for path, line, name in dotenv_databases(self.app.cwd or Path.cwd(), self.env):
            raise AppStartError(
                f"{path}:{line} sets {name}, a database golive did not provision, and app.env does not set it: "
                f"the app would reach that database; set {name} in app.env (golive init wires the names the app reads)"
            )

    def _run_setup(self, index: int, argv: list[str], environ: Mapping[str, str]) -> None:
        """A setup command, with the app's env and cwd, its output in the app's log."""
        where: DocPath = ("app", "setup", index)
        shown = shlex.join(argv)
        cannot = f"app setup command {shown} could not start"
        process, start = self._spawn(argv, environ, where, cannot, f"app {self.name} setup")
        deadline = time.monotonic() + SETUP_TIMEOUT_S
        while (code := process.poll()) is None:
            if self._cancelled.is_set() or time.monotonic() > deadline:
                stop_child(process, start, signal.SIGKILL)
                late = f"did not finish within {SETUP_TIMEOUT_S:g}s"
                why = "was stopped: the run ended" if self._cancelled.is_set() else late
                raise AppStartError(
                    f"app setup command {shown} {why}",
                    doc_path=where,
                    details=self.log_lines(),
                )
            time.sleep(_POLL_S)
        if code != 0:
            raise AppStartError(
                f"app setup command {shown} failed with exit status {code}, so the app did not start",
                doc_path=where,
                details=self.log_lines(),
            )

    def _spawn(
        self, argv: list[str], environ: Mapping[str, str], where: DocPath, cannot: str, what: str
    ) -> tuple[subprocess.Popen[bytes], int | None]:
        """A command of the app's (a setup step, a worker) with its env and cwd, its output in
        the app's log after a ``--- golive: app.setup[0]: ARGV`` line, recorded for cleanup;
        ``cannot`` starts the error when it does not start."""
        assert self.log is not None
        label = ".".join(map(str, where[:2])) + f"[{where[2]}]"
        with self.log.open("ab") as out:
            out.write(f"--- golive: {label}: {shlex.join(argv)}\n".encode())
            out.flush()
            try:
                process = subprocess.Popen(
                    argv,
                    cwd=self.app.cwd,
                    env=dict(environ),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                raise AppStartError(f"{cannot}: {exc.strerror}", doc_path=where) from None
        start = process_start_time(process.pid)
        self.state.record("process", pid=process.pid, start=start, what=what)
        return process, start

    def _wait_ready(self, base_url: str, port: int) -> None:
        import requests  # noqa: PLC0415  (only a started app needs it: collection stays light)

        deadline = time.monotonic() + self.app.ready_timeout_s
        probe = f"GET {self.app.ready_http}" if self.app.ready_http else f"port {port}"
        last = "no answer"
        assert self.process is not None
        while time.monotonic() < deadline:
            if self._cancelled.is_set():
                raise AppStartError("the run ended before the app was ready")
            code = self.process.poll()
            if code is not None:
                raise AppStartError(f"app exited with status {code} while starting", details=self.log_lines())
            try:
                if self.app.ready_http:
                    # an answer is an answer: a redirect is not followed (it may point at the app's
                    # public address, which is not where golive serves it)
                    response = requests.get(base_url + self.app.ready_http, timeout=1, allow_redirects=False)
                    if response.status_code < 500:
                        return
                    last = f"status {response.status_code}"
                else:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return
            except (requests.RequestException, OSError) as exc:
                last = type(exc).__name__
            time.sleep(_POLL_S)
        raise AppStartError(
            f"app not ready within {self.app.ready_timeout_s:g}s ({probe}: {last})", details=self.log_lines()
        )

    @property
    def pid(self) -> int | None:
        """The running app's process id (it leads its own process group); None when stopped."""
        return self.process.pid if self.process is not None else None

    def log_lines(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        return log_lines(self.log, lines)

    def log_tail(self, lines: int = 5) -> str:
        """The log's last lines on one line (for reasons that must stay one line)."""
        return " | ".join(self.log_lines(lines))

    def stop(self, *, kill: bool = False) -> None:
        for worker, start in self.workers:
            stop_child(worker, start, signal.SIGKILL if kill else signal.SIGTERM)
        self.workers = []
        if self.process is not None:
            stop_child(self.process, self._start_time, signal.SIGKILL if kill else signal.SIGTERM)
            self.process = None
        if self.keep_log is not None and self.log is not None and self.log.exists():
            self.keep_log(self.log)

    def restart(self) -> None:
        """Stop (if running) and start again on the same port, as a fault check's recovery does."""
        self.stop()
        self.start(self._context, self.port)

    def signal(self, signum: int) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signum)
