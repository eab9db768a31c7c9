"""The pytest11 entry point: options, markers, collection, and the run's services.

Kept light: every pytest run loads it. The heavy parts are imported inside the hooks
that need them, once a checklist is collected or a golive option is used."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from ..formats.properties import FOREIGN_DATABASE_PROPERTY, RERUNS_PROPERTY
from .discovery import discover_checklists, is_checklist_path, real_path
from .fixtures import golive_app, golive_postgres, golive_redis, golive_services
from .markers import register_builtin_markers
from .options import (
    APP_COVERAGE_OPTION,
    BASE_URL_OPTION,
    EXPLICIT_KEY,
    GATE_OPTION,
    GOLIVE_FAILURE_KEY,
    LOAD_SHARDS_OPTION,
    LOGS_OPTION,
    PHASE_PROPERTY,
    PROVIDER_OPTION,
    PROVIDERS,
    RELEASE_OPTION,
    RERUN_OUTCOME,
    RUN_ID_INPUT,
    SERVICES_KEY,
    SHARD_OPTION,
    SIGNOFF_OPTION,
    add_ini_twins,
    apply_ini_twins,
)
from .phases import PHASES_ATTRIBUTE, PhaseReporter
from .sharding import load_share, parse_shard, select_shard
from .signoffs import parse_cli
from .timing import RunClock

__all__ = ["golive_app", "golive_postgres", "golive_redis", "golive_services"]

_SIGTERM_KEY = pytest.StashKey[Any]()
#: xdist's --dist modes whose scheduling golive replaces with stage order; the others
#: (each, loadscope, loadfile, loadgroup) are the user's explicit choice and kept
STAGE_ORDERED_DISTS = ("load", "worksteal")
#: where tests that are not checks sort among checks: first (see checklist/ordering.py UNSTAGED)
_NOT_A_CHECK = (-2, 0, 0, 0)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("golive", "go-live checklists (pytest-golive)")
    group.addoption(
        "--golive",
        action="append",
        default=[],
        metavar="PATH",
        help="collect this checklist too, whatever its name (repeatable)",
    )
    group.addoption(
        "--golive-base-url",
        dest=BASE_URL_OPTION,
        metavar="URL",
        default=None,
        help="the deployed target that relative http URLs point at; overrides app.base_url",
    )
    group.addoption(
        "--golive-provider",
        dest=PROVIDER_OPTION,
        choices=PROVIDERS,
        default=None,
        help="provide every service this way: auto (docker, then local), docker, local or external",
    )
    group.addoption(
        "--golive-gate",
        dest=GATE_OPTION,
        action="store_true",
        help="apply the checklists' gates: policy at the end of the session; a failing verdict fails the run",
    )
    group.addoption(
        "--golive-signoff",
        dest=SIGNOFF_OPTION,
        action="append",
        default=[],
        metavar="ID=NAME",
        help="record NAME's sign-off of the manual check ID for this run (repeatable); "
        "CHECKLIST::ID=NAME names the checklist when several have that id",
    )
    group.addoption(
        "--golive-release",
        dest=RELEASE_OPTION,
        metavar="RELEASE",
        default=None,
        help="the release this run checks (a tag, a version): sign-offs count only for it; "
        "default: the git commit checked out and its tags",
    )
    group.addoption(
        "--golive-shard",
        dest=SHARD_OPTION,
        metavar="I/N",
        default=None,
        help="run only shard I of N; items are split by check id (merge the shards' JUnit with golive gate)",
    )
    group.addoption(
        "--golive-load-shards",
        dest=LOAD_SHARDS_OPTION,
        metavar="N",
        default=None,
        help="with --golive-shard I/N: run every load check on every shard at 1/N of its rate (or users); "
        "golive gate merges the shards' histograms and judges the thresholds",
    )
    group.addoption(
        "--golive-app-coverage",
        dest=APP_COVERAGE_OPTION,
        metavar="FILE",
        default=None,
        help="where apps with 'coverage: true' get their combined coverage (Cobertura XML, for golive gate --coverage; "
        "default golive-app-coverage.xml)",
    )
    group.addoption(
        "--golive-logs",
        dest=LOGS_OPTION,
        metavar="DIR",
        default=None,
        help="keep the app's logs, redacted, in DIR/<run id>/ (default golive-logs; ini: golive_logs)",
    )
    parser.addini(
        "golive_paths",
        type="paths",
        default=[],
        help="checklists to collect too when pytest is run without paths (as testpaths); like --golive",
    )
    add_ini_twins(parser)


def pytest_configure(config: pytest.Config) -> None:
    apply_ini_twins(config)
    register_builtin_markers(config)
    parse_cli(config.getoption(SIGNOFF_OPTION))  # malformed values are usage errors, before anything runs
    load_share(config)
    extra = [Path(p) for p in config.getoption("golive")]
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # pytest's rule for testpaths: paths or node ids given on the command line are not widened
        extra += list(config.getini("golive_paths"))
    explicit = {real_path(path) for path in extra}
    explicit |= {
        real_path(Path(arg.split("::")[0])) for arg in config.args if arg.split("::")[0].endswith((".yaml", ".yml"))
    }
    config.stash[EXPLICIT_KEY] = explicit
    known_args = {real_path(Path(arg.split("::")[0])) for arg in config.args}
    for path in extra:
        if real_path(path) not in known_args:
            config.args.append(str(path))
            known_args.add(real_path(path))
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or RUN_ID_INPUT not in workerinput:  # this process owns the run
        _stop_cleanly_on_sigterm(config)
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistController(config), "golive-xdist")
    config.pluginmanager.register(RunClock(config), "golive-clock")
    if workerinput is None:
        config.pluginmanager.register(PhaseReporter(config), "golive-phases")
        if config.getoption("xmlpath", None) or config.getoption(GATE_OPTION):
            from .stamps import STAMP_PLUGIN, RunStamp  # noqa: PLC0415  (runs that write no results do not ask git)

            config.pluginmanager.register(RunStamp(config), STAMP_PLUGIN)
    if config.getoption(GATE_OPTION) and workerinput is None:
        from .gating import SessionGate  # noqa: PLC0415  (only --golive-gate runs load the gate)

        config.pluginmanager.register(SessionGate(config, explicit), "golive-gate")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop apps and servers while the terminal can still say what happened. A database the
    app wrote that no test reported (the run was interrupted) still fails the run."""
    services = session.config.stash.get(SERVICES_KEY, None)
    if services is not None:
        services.close()
        if services.unreported_writes and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """After each test, whether an app wrote a SQLite database that was in its folder before
    its setup ran (services/sqlite_files.py): the test's teardown errors, so JUnit and the
    gate see it. The session's last teardown stops the apps first (a finalizer of the
    session: pytest-rerunfailures holds it back while a rerun is due) and reports every such
    database again, so that a rerun cannot hide it."""
    result = yield
    services = item.config.stash.get(SERVICES_KEY, None)
    if services is not None:
        written = services.foreign_writes(again=nextitem is None)
        if written:
            from ..services.sqlite_files import ForeignDatabaseWritten  # noqa: PLC0415  (loaded with the services)

            raise ForeignDatabaseWritten(written)
    return result


def pytest_unconfigure(config: pytest.Config) -> None:
    if SERVICES_KEY in config.stash:
        config.stash[SERVICES_KEY].close()  # again after an early exit; closing twice is harmless
    if _SIGTERM_KEY in config.stash:
        signal.signal(signal.SIGTERM, config.stash[_SIGTERM_KEY])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Checks run stage by stage (checklist/ordering.py), after whatever -k, -m, --lf or
    --ff selected and reordered; other tests keep their order, before the checks."""
    shard = parse_shard(config.getoption(SHARD_OPTION))
    if shard is not None:
        select_shard(items, config, *shard)
    if any(hasattr(item, "run_key") for item in items):
        items.sort(key=lambda item: getattr(item, "run_key", _NOT_A_CHECK))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_checklist_path(file_path) or real_path(file_path) in parent.config.stash[EXPLICIT_KEY]:
        from .items import ChecklistFile  # noqa: PLC0415  (the first checklist loads the heavy parts)

        return ChecklistFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A check's drill phases ride on its call report (see plugin/phases.py)."""
    report = yield
    if call.when == "setup" and call.excinfo is not None and hasattr(item, "repr_setup_failure"):
        report.longrepr = item.repr_setup_failure(call.excinfo) or report.longrepr  # a service or the app did not start
    error = call.excinfo.value if call.excinfo is not None else None
    lines = getattr(error, "golive_lines", None)
    if call.when == "teardown" and lines:  # the app wrote a database golive did not make
        from .report import CrashLine, FailureRepr  # noqa: PLC0415  (only runs with that error load it)

        paths = [str(path) for path in getattr(error, "paths", [])]
        report.longrepr = FailureRepr(tuple(lines), CrashLine(paths[0] if paths else "", 0, lines[0]))
        report.user_properties.append((FOREIGN_DATABASE_PROPERTY, ", ".join(paths)))
    settle = getattr(item, "settle_report", None)
    if settle is not None and report.outcome != RERUN_OUTCOME:
        settle(report)  # outcome kept for the checks that need this one (plugin/needs.py)
    phases = getattr(item, "phase_reports", None)
    if call.when == "call" and phases:
        setattr(report, PHASES_ATTRIBUTE, phases)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A result after pytest-rerunfailures' reruns says so in JUnit (``golive.reruns``), so
    ``golive gate`` marks a pass after reruns flaky, as ``--golive-gate`` does."""
    reruns = getattr(report, "rerun", 0)
    if reruns and report.outcome != RERUN_OUTCOME and all(key != RERUNS_PROPERTY for key, _ in report.user_properties):
        report.user_properties.append((RERUNS_PROPERTY, reruns))


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config: pytest.Config, report: Any) -> Any:
    """An xdist worker sends a golive failure as data, so that the controller's reports
    (--tb=line, JUnit's message) read its one-line crash message too."""
    data = yield
    to_json = getattr(getattr(report, "longrepr", None), "golive_json", None)
    if data is not None and to_json is not None:
        data[GOLIVE_FAILURE_KEY] = to_json()
    return data


@pytest.hookimpl(wrapper=True)
def pytest_report_from_serializable(config: pytest.Config, data: dict[str, Any]) -> Any:
    report = yield
    if report is not None and GOLIVE_FAILURE_KEY in data:
        from .report import FailureRepr  # noqa: PLC0415  (only runs with golive failures load it)

        report.longrepr = FailureRepr.from_json(data[GOLIVE_FAILURE_KEY])
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    """A drill's phases count on their own in the summary line ("4 drill phases passed") and
    leave the progress counter, which counts collected items, alone."""
    if report.when != "call" or not any(key == PHASE_PROPERTY for key, _ in report.user_properties):
        return None
    return (f"drill phases {report.outcome}", "", "")


def pytest_report_header(config: pytest.Config) -> str | None:
    """Kept cheap (every pytest run calls it); the summary says what served each service."""
    chosen = config.getoption(PROVIDER_OPTION)
    return f"golive: services provider {chosen} (--golive-provider or ini golive_provider)" if chosen else None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    services = config.stash.get(SERVICES_KEY, None)
    if services is None:
        return
    if services.unreported_writes:
        from ..services.sqlite_files import wrote_message  # noqa: PLC0415  (loaded with the services)

        terminalreporter.section("golive: databases golive did not make were written", red=True)
        for path in services.unreported_writes:
            terminalreporter.write_line(wrote_message(path), red=True, bold=True)
    if services.changed_tracked:
        from ..services.tracked_files import changed_message  # noqa: PLC0415  (loaded with the services)

        terminalreporter.section("golive: files under version control changed", yellow=True)
        terminalreporter.write_line(changed_message(services.changed_tracked), yellow=True, bold=True)
    if services.removed_sqlite:
        terminalreporter.section("golive sqlite")
        names = ", ".join(str(path) for path in services.removed_sqlite)
        terminalreporter.write_line(f"removed the SQLite files this run's app created in its folder: {names}")
    kept = services.kept_logs()
    if kept:
        terminalreporter.section("golive app logs")
        terminalreporter.write_line(f"app logs (redacted): {kept}")
    if not services.served and not services.app_coverage_written:
        return
    from .redactor import redactor  # noqa: PLC0415  (loaded already: services exist only with checklists)

    terminalreporter.section("golive services")
    hide = redactor(config)
    for name, endpoint in services.served.items():
        where = f"{endpoint.host}:{endpoint.port}"
        terminalreporter.write_line(
            hide(f"{name}: {endpoint.kind} via {endpoint.provider} ({endpoint.origin}) at {where}")
        )
    if any(endpoint.provider == "docker" for endpoint in services.served.values()):
        from ..services.dockerengine import reaper_problem  # noqa: PLC0415  (docker was used: loaded already)

        problem = reaper_problem()  # the answer the containers' start got, kept for the process
        if problem:
            terminalreporter.write_line(problem)
    if services.app_coverage_written:
        terminalreporter.write_line(f"app coverage: {config.getoption(APP_COVERAGE_OPTION)}")


class _XdistController:
    """Under xdist the controller provisions once, before its workers start."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.workerinput: dict[str, Any] | None = None
        self.checklists: list[Path] = []

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self.workerinput is None:
            from .services import session_services  # noqa: PLC0415  (heavy; controller side of xdist only)

            services = session_services(self.config)
            self.checklists = list(discover_checklists(self.config, self.config.stash[EXPLICIT_KEY]))
            self.workerinput = services.provision_for_workers(self.checklists)
        node.workerinput.update(self.workerinput)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """Checklists run stage by stage also under xdist (plugin/scheduling.py); runs
        without one keep xdist's own scheduler."""
        if not self.checklists or config.getvalue("dist") not in STAGE_ORDERED_DISTS:
            return None
        from xdist.workermanage import parse_tx_spec_config  # type: ignore[import-untyped]  # noqa: PLC0415

        from .scheduling import StageScheduling, make_wave_of  # noqa: PLC0415

        wave_of = make_wave_of(config, self.checklists)
        return StageScheduling(config, log, len(parse_tx_spec_config(config)), wave_of)


def _stop_cleanly_on_sigterm(config: pytest.Config) -> None:
    """SIGTERM ends the run like Ctrl-C does, so session cleanup still runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    with contextlib.suppress(ValueError):  # not the main thread (pytest run inside another program)
        config.stash[_SIGTERM_KEY] = signal.signal(signal.SIGTERM, interrupt)
