"""Services and the app for one pytest process.

Without xdist, this process owns the run: it provisions lazily, on the first check
that needs a service, and tears everything down at session end. Under xdist, the
controller owns the run and provisions once for all workers (``provision_for_workers``);
each worker gets the connection details through ``workerinput`` and clones its own
database.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ..checklist import IN_PROCESS_SERVICE_KINDS, Checklist, ChecklistError, ServiceSpec, load_checklist
from ..checks import load_kind_schemas, render_vars
from ..checks.base import Recorder
from ..checks.runner import CheckProblem
from ..services.app import AppProcess, write_app_coverage
from ..services.endpoint import Endpoint
from ..services.errors import ProvisionError
from ..services.faults import AppTarget, ProxiedServiceTarget, ServiceTarget
from ..services.manager import (
    ServiceManager,
    SharedService,
    WorkerServices,
    redis_slots,
    service_key,
    start_in_process,
)
from ..services.netproxy import TcpProxy
from ..services.reaper import reap
from ..services.running import Running
from ..services.runstate import RunState
from ..services.serverlog import server_log
from ..services.sqlite_files import run_baselines
from ..services.tracked_files import run_baselines as tracked_baselines
from .options import APP_COVERAGE_OPTION, DEFAULT_LOGS_DIR, LOGS_OPTION, PROVIDER_OPTION, RUN_ID_INPUT, SERVICES_KEY
from .timing import TimeLedger

SHARED_INPUT = "golive_services"
ERRORS_INPUT = "golive_service_errors"
SLOTS_INPUT = "golive_redis_slots"


class SessionServices:
    def __init__(
        self,
        provider_override: str | None,
        environ: Mapping[str, str],
        workerinput: Any = None,
        app_coverage: Path | None = None,
        *,
        logs_root: Path = Path(DEFAULT_LOGS_DIR),
        redact: Callable[[str], str] = str,
        learn_env: Callable[[Mapping[str, str]], None] = lambda env: None,
        stamp_coverage: Callable[[Path], None] = lambda path: None,
    ) -> None:
        self.provider_override = provider_override
        self.app_coverage = app_coverage
        #: binds the app coverage written to the run that wrote it (plugin/stamps.py)
        self.stamp_coverage = stamp_coverage
        #: kept app logs go to ``logs_root/<run id>/``, redacted by ``redact``
        self.logs_root = logs_root
        self.redact = redact
        #: the app's rendered env, given to the run's Redactor before the app starts
        self.learn_env = learn_env
        self.app_coverage_written = False
        self._closed = False
        #: seconds spent provisioning, starting apps and tearing down (plugin/timing.py)
        self.spent = TimeLedger()
        self.environ = environ
        self.owner = workerinput is None or RUN_ID_INPUT not in workerinput
        self._state: RunState | None = None
        self._manager: ServiceManager | None = None
        self._shared: dict[str, SharedService] = {}
        self._errors: dict[str, str] = {}
        self._apps: dict[Path, AppProcess | ProvisionError] = {}
        #: apps starting in a thread (start_app_ahead), until a check needs them
        self._starting: dict[Path, tuple[AppProcess, Future[AppProcess | ProvisionError]]] = {}
        self._urls: dict[Path, str] = {}
        #: {{ app.data_dir }} of each checklist's app (app_data_dir)
        self._data_dirs: dict[Path, Path] = {}
        #: per checklist, how much each of its servers had logged when its app first started serving
        self._log_marks: dict[Path, dict[str, int]] = {}
        #: every app process made here, started or not (its SQLite baseline outlives a failed start)
        self._app_processes: list[AppProcess] = []
        #: SQLite databases the app wrote that were already reported as a test's error
        self._reported_writes: set[Path] = set()
        #: found at the end and not reported by a test (the run was interrupted): the summary says them
        self.unreported_writes: list[Path] = []
        #: SQLite databases the run's apps created in their folders, removed at its end
        self.removed_sqlite: list[Path] = []
        #: files under version control the run changed (services/tracked_files.py), said at its end
        self.changed_tracked: list[Path] = []
        self._handles: dict[Path, dict[str, dict[str, Any]]] = {}
        self._proxies: dict[Path, dict[str, TcpProxy]] = {}
        #: http-stub and mail services, served by this process for its own app and checks
        self._in_process: dict[Path, dict[str, tuple[Running, Recorder]]] = {}
        self.served: dict[str, Endpoint] = {}
        worker_id, index, count = "main", 0, 1
        self._slots: dict[str, list[str]] = {}
        if not self.owner:
            self._state = RunState.attach(workerinput[RUN_ID_INPUT])
            self._shared = {item["key"]: SharedService.from_json(item) for item in workerinput[SHARED_INPUT]}
            self._errors = dict(workerinput[ERRORS_INPUT])
            self._slots = dict(workerinput.get(SLOTS_INPUT, {}))
            worker_id = str(workerinput["workerid"])
            index = int(worker_id.removeprefix("gw")) if worker_id.removeprefix("gw").isdigit() else 0
            count = int(workerinput.get("workercount", 1))
        self._worker_id, self._worker_index, self._worker_count = worker_id, index, count
        self._workers: WorkerServices | None = None

    @property
    def state(self) -> RunState:
        """Created on first need, so a run without services leaves nothing behind."""
        if self._state is None:
            self._state = RunState.create()
        return self._state

    @property
    def run_id(self) -> str | None:
        return self._state.run_id if self._state else None

    def _worker_view(self) -> WorkerServices:
        if self._workers is None:
            self._workers = WorkerServices(
                self.state, self._worker_id, self._worker_index, self._worker_count, self._slots
            )
        return self._workers

    def _shared_for(
        self, checklist: Checklist, variables: Mapping[str, Any]
    ) -> dict[str, SharedService | ProvisionError]:
        """The shared server of each service: provisioned here by the owner, or handed over by xdist."""
        served = shared_kinds(checklist.services)
        if self.owner:
            if self._manager is None:
                self._manager = ServiceManager(self.state, self.provider_override, self.environ)
            return self._manager.provision_all(served, variables)
        found: dict[str, SharedService | ProvisionError] = {}
        for name, spec in served.items():
            key = service_key(spec, self.provider_override)
            if key in self._errors:
                found[name] = ProvisionError(self._errors[key])
            elif key in self._shared:
                found[name] = self._shared[key]
            else:
                found[name] = ProvisionError(f"service {name!r} was not provisioned by the xdist controller")
        return found

    def endpoints(self, checklist: Checklist, variables: Mapping[str, Any]) -> dict[str, Endpoint | ProvisionError]:
        """This process's isolated endpoint of every service the checklist declares, or why
        it could not be had: only the checks that need a missing one error."""
        with self.spent.measure("provision"):
            return self._endpoints(checklist, variables)

    def _endpoints(self, checklist: Checklist, variables: Mapping[str, Any]) -> dict[str, Endpoint | ProvisionError]:
        found: dict[str, Endpoint | ProvisionError] = {}
        for name, shared in self._shared_for(checklist, variables).items():
            try:
                if isinstance(shared, ProvisionError):
                    raise shared
                if shared.handle is not None:
                    self._handles.setdefault(checklist.path, {})[name] = shared.handle
                endpoint = self._worker_view().endpoint(shared, checklist.services[name], checklist.path)
            except ProvisionError as exc:
                found[name] = exc
                continue
            self.served[name] = endpoint
            found[name] = self._through_proxy(checklist, name, endpoint) if checklist.services[name].proxy else endpoint
        for name, spec in checklist.services.items():
            if spec.kind in IN_PROCESS_SERVICE_KINDS:
                endpoint = self._served_here(checklist, name, spec)
                self.served[name] = endpoint
                found[name] = self._through_proxy(checklist, name, endpoint) if spec.proxy else endpoint
        return found

    def _served_here(self, checklist: Checklist, name: str, spec: ServiceSpec) -> Endpoint:
        """An http-stub or mail service of this process, started on first need."""
        started = self._in_process.setdefault(checklist.path, {})
        if name not in started:
            started[name] = start_in_process(spec)
        return started[name][0].endpoint

    def recorders(self, checklist: Checklist) -> dict[str, Recorder]:
        """The checklist's http-stub and mail services this process serves, by name."""
        return {name: recorder for name, (_, recorder) in self._in_process.get(checklist.path, {}).items()}

    def _through_proxy(self, checklist: Checklist, name: str, endpoint: Endpoint) -> Endpoint:
        """The service as the app and the checks reach it: through this process's proxy,
        which its network faults act on (each xdist worker has its own, beside its own app)."""
        proxies = self._proxies.setdefault(checklist.path, {})
        if name not in proxies:
            proxies[name] = TcpProxy(endpoint.host, endpoint.port)
        return replace(endpoint, host=proxies[name].host, port=proxies[name].port)

    def app(self, checklist: Checklist, context: Mapping[str, Any], python: str) -> AppProcess:
        """Start the checklist's app once (it has a command), or wait for its start under way
        (start_app_ahead); a failure is remembered and raised again (AppStartError), not retried."""
        started = self._apps.get(checklist.path)
        if started is None:
            with self.spent.measure("app start"):  # what the run waited for: a start ahead overlaps checks
                ahead = self._starting.pop(checklist.path, None)
                if ahead is not None:
                    started = ahead[1].result()
                else:
                    started = self._start_app(checklist, self._new_app(checklist, python), context)
            self._apps[checklist.path] = started
        if isinstance(started, ProvisionError):
            raise started
        return started

    def start_app_ahead(self, checklist: Checklist, context: Mapping[str, Any], python: str) -> None:
        """Begin starting the app in a thread, so that the checks before the first one that
        needs it (which cannot tell: plugin/items.py decides) run while it starts."""
        if checklist.path in self._apps or checklist.path in self._starting:
            return
        process = self._new_app(checklist, python)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="golive-app-start")
        self._starting[checklist.path] = (process, pool.submit(self._start_app, checklist, process, context))
        pool.shutdown(wait=False)  # the thread ends with the start; app() or close() waits for it

    def _new_app(self, checklist: Checklist, python: str) -> AppProcess:
        assert checklist.app is not None
        name = self.app_log_name(checklist)
        process = AppProcess(
            self.state, checklist.app, name, python=python, keep_log=self._keeper(name), learn_env=self.learn_env
        )
        process.data_dir = self.app_data_dir(checklist)
        process.before_serving = functools.partial(self._mark_server_logs, checklist)
        self._app_processes.append(process)
        return process

    def _mark_server_logs(self, checklist: Checklist) -> None:
        """Where each server's log stood when the app first started (its setup done)."""
        if checklist.path not in self._log_marks:
            handles = self._handles.get(checklist.path, {})
            self._log_marks[checklist.path] = {name: len(server_log(handle) or "") for name, handle in handles.items()}

    def _start_app(
        self, checklist: Checklist, process: AppProcess, context: Mapping[str, Any]
    ) -> AppProcess | ProvisionError:
        try:
            self._urls[checklist.path] = process.start(context)
        except ProvisionError as exc:
            return exc
        return process

    def app_data_dir(self, checklist: Checklist) -> Path:
        """``{{ app.data_dir }}``: one empty folder of this run's per checklist (and xdist
        worker), shared by its app and the checks that render ``app.env`` without it (a
        migrations walk), as a volume is by a deployment's migrate step and its app."""
        folder = self._data_dirs.get(checklist.path)
        if folder is None:
            folder = self._data_dirs[checklist.path] = self.state.private_dir("app-data")
        return folder

    def app_log_name(self, checklist: Checklist) -> str:
        """``<folder>-<file>[-<worker>].log``: one per app process, so xdist workers keep theirs apart."""
        worker = "" if self._worker_id == "main" else f"-{self._worker_id}"
        return f"{checklist.path.parent.name or 'app'}-{checklist.path.stem}{worker}.log"

    @property
    def logs_dir(self) -> Path:
        """This run's folder of kept app logs (created when the first log is kept)."""
        return self.logs_root / self.state.run_id

    def _keeper(self, name: str) -> Callable[[Path], None]:
        def keep(log: Path) -> None:
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            text = log.read_text(encoding="utf-8", errors="replace")
            (self.logs_dir / name).write_text(self.redact(text), encoding="utf-8")

        return keep

    def app_url(self, checklist: Checklist) -> str | None:
        return self._urls.get(checklist.path)

    def kept_logs(self) -> Path | None:
        """The run's folder of kept app logs, when a log was kept (by this process or, under
        xdist, by a worker: they share the run id)."""
        if self._state is None:
            return None
        folder = self.logs_root / self._state.run_id
        return folder if folder.is_dir() and any(folder.iterdir()) else None

    def fault_targets(self, checklist: Checklist) -> dict[str, Any]:
        """What this checklist's fault checks may act on: its services, and its app if started here."""
        handles = self._handles.get(checklist.path, {})
        targets: dict[str, Any] = {name: ServiceTarget(name, handle) for name, handle in handles.items()}
        for name, proxy in self._proxies.get(checklist.path, {}).items():
            targets[name] = ProxiedServiceTarget(name, proxy, handles.get(name))
        app = self._apps.get(checklist.path)
        if isinstance(app, AppProcess):
            targets["app"] = AppTarget(app)
        return targets

    def server_logs(self, checklist: Checklist) -> dict[str, Callable[[], str | None]]:
        """Per service golive started for this checklist: how to read what its server has
        logged since the app started (all of it until then, or without an app golive started).
        The app's setup commands ran before: a setup that migrated the database proves where
        the deploy step ran, not that the app uses that database."""
        handles = self._handles.get(checklist.path, {})
        return {
            name: functools.partial(self._server_log, checklist.path, name, handle) for name, handle in handles.items()
        }

    def _server_log(self, path: Path, name: str, handle: Mapping[str, Any]) -> str | None:
        log = server_log(handle)
        mark = self._log_marks.get(path, {}).get(name, 0)
        return None if log is None else log[mark:]

    def app_log(self, checklist: Checklist) -> list[str]:
        """The last lines of the checklist's app log, colour codes stripped (not yet redacted)."""
        started = self._apps.get(checklist.path)
        return started.log_lines() if isinstance(started, AppProcess) else []

    def provision_for_workers(self, checklists: Iterable[Path]) -> dict[str, Any]:
        """Controller side of xdist: provision every service of the discovered checklists.

        With any checklist, the workers share the controller's run, so that what they
        start (apps, app coverage data) is owned, combined and reaped in one place."""
        schemas = load_kind_schemas()
        errors: dict[str, str] = {}
        slots: dict[str, list[str]] = {}
        paths = list(checklists)
        if not paths:
            return {}
        with self.spent.measure("provision"):
            for path in paths:
                try:
                    checklist = load_checklist(path, schemas)
                    variables = render_vars(checklist, self.environ)
                except (ChecklistError, CheckProblem):
                    continue  # the workers report it when they collect the file
                redis_slots(checklist.path, checklist.services, self.provider_override, slots)
                for name, outcome in self._shared_for(checklist, variables).items():
                    if isinstance(outcome, ProvisionError):
                        errors[service_key(checklist.services[name], self.provider_override)] = str(outcome)
        shared = self._manager.shared() if self._manager else []
        return {
            RUN_ID_INPUT: self.state.run_id,
            SHARED_INPUT: [s.to_json() for s in shared],
            ERRORS_INPUT: errors,
            SLOTS_INPUT: slots,
        }

    def close(self) -> None:
        """Stop apps, drop this worker's databases; the owner also stops servers and reaps."""
        if self._closed:
            return
        self._closed = True
        with self.spent.measure("teardown"):
            self._close()

    def stop_apps(self) -> None:
        """Stop this process's apps (at the session's last teardown; again at close, harmlessly)."""
        for process, pending in self._starting.values():  # the run ended before a check needed it
            process.cancel()
            wait([pending])
            process.stop()
        self._starting.clear()
        for started in self._apps.values():
            if isinstance(started, AppProcess):
                started.stop()

    def foreign_writes(self, *, again: bool = False) -> list[Path]:
        """The SQLite databases that were in an app's folder before its setup ran and have
        changed since, not reported yet (``again``: all of them); they count as reported now."""
        changed = sorted({path for p in self._app_processes if p.sqlite is not None for path in p.sqlite.changed()})
        found = changed if again else [path for path in changed if path not in self._reported_writes]
        self._reported_writes.update(found)
        return found

    def _close(self) -> None:
        try:
            self.stop_apps()
            self.unreported_writes = [
                path
                for p in self._app_processes
                if p.sqlite is not None
                for path in p.sqlite.changed()
                if path not in self._reported_writes
            ]
            if self.owner and self._state is not None:  # under xdist, after every worker's app stopped
                for baseline in run_baselines(self._state.directory):
                    self.removed_sqlite += baseline.remove_created()
                for tracked in tracked_baselines(self._state.directory):
                    self.changed_tracked += tracked.changed()
            for proxies in self._proxies.values():
                for proxy in proxies.values():
                    proxy.close()
            for served in self._in_process.values():
                for running, _ in served.values():
                    running.stop()
            self._in_process.clear()
            if self._workers is not None:
                self._workers.close()
            if self._manager is not None:
                self._manager.shutdown()
            if self.owner and self._state is not None and self.app_coverage is not None:
                self.app_coverage_written = write_app_coverage(self._state, self.app_coverage)
                if self.app_coverage_written:
                    self.stamp_coverage(self.app_coverage)
        finally:  # whatever broke above, the reaper still removes what the run recorded
            if self.owner and self._state is not None:
                reap(self._state)


def shared_kinds(services: Mapping[str, ServiceSpec]) -> dict[str, ServiceSpec]:
    """The services one server serves for the whole run (under xdist, provisioned by the
    controller): all but the in-process kinds, which each process serves itself."""
    return {name: spec for name, spec in services.items() if spec.kind not in IN_PROCESS_SERVICE_KINDS}


def session_services(config: pytest.Config) -> SessionServices:
    """This process's services, created on first use (runs without checklists never pay for them)."""
    if SERVICES_KEY not in config.stash:
        from .redactor import redactor  # noqa: PLC0415  (heavy: runs with checklists only)
        from .stamps import stamp_run_file  # noqa: PLC0415  (as heavy)

        app_coverage = config.invocation_params.dir / config.getoption(APP_COVERAGE_OPTION)
        workerinput = getattr(config, "workerinput", None)
        config.stash[SERVICES_KEY] = SessionServices(
            config.getoption(PROVIDER_OPTION),
            os.environ,
            workerinput,
            app_coverage,
            logs_root=logs_root(config),
            redact=redactor(config),
            learn_env=redactor(config).add_named,
            stamp_coverage=functools.partial(stamp_run_file, config),
        )
    services: SessionServices = config.stash[SERVICES_KEY]
    return services


def logs_root(config: pytest.Config) -> Path:
    """``--golive-logs`` (or its ini twin ``golive_logs``; default ``golive-logs``), relative
    to where pytest was started."""
    return config.invocation_params.dir / str(config.getoption(LOGS_OPTION))
