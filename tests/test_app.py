"""The app under test as real apps need it: its interpreter, setup commands, values the OS
can take, started only for the checks that need it, its logs kept; and proof that it used
the services golive provisioned (the connected kind). Real processes, Postgres and Redis."""

from __future__ import annotations

import fnmatch
import json
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES_APP = ROOT / "tests" / "apps" / "services_app.py"
GUARD_S = 180


def run(
    folder: Path, *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """pytest in ``folder``, wide enough that summary lines are not cut."""
    environ = {name: value for name, value in os.environ.items() if name not in unset}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env={**environ, "COLUMNS": "300", **(env or {})},
        check=False,
    )


def wait_for_port(port: int, within_s: float = 30) -> None:
    """Until a server listens on 127.0.0.1:``port`` (a guard against hangs, not a timing assertion)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"nothing listens on port {port}")


def app_section(mode: str = "pool", **env: str) -> str:
    variables = ", ".join(f"{name}: {value}" for name, value in env.items())
    return (
        f"app:\n  command: ['{{{{ app.python }}}}', {SERVICES_APP}, {mode}]\n"
        f"  env: {{{variables}}}\n  ready: {{http: /health, timeout: 20s}}\n"
    )


def test_checks_that_do_not_need_the_app_never_start_it(tmp_path: Path) -> None:
    started = tmp_path / "app-started"
    (tmp_path / "RUNBOOK.md").write_text("## Rollback\n")
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        f"app: {{command: [sh, -c, 'touch {started}; exec python3 -m http.server $PORT'], ready: {{timeout: 20s}}}}\n"
        "checks:\n"
        "  - {id: env, env: [HOME]}\n"
        "  - {id: file, file: RUNBOOK.md, expect: {content: {contains: Rollback}}}\n"
        "  - {id: command, command: 'echo {{ app.python }}'}\n"
        "  - {id: manual, manual: Team notified}\n"
        "  - {id: web, http: {get: /}}\n"
        "  - {id: port, tcp: \"127.0.0.1:{{ app.base_url.split(':')[-1] }}\"}\n"
    )
    without_app = run(tmp_path, "-k", "not web and not port", "--golive-signoff", "manual=Kim")
    assert without_app.returncode == 0, without_app.stdout[-2000:]
    assert "4 passed" in without_app.stdout
    assert not started.exists()
    with_app = run(tmp_path, "-k", "web or port")
    assert with_app.returncode == 0, with_app.stdout[-2000:]
    assert started.exists()  # an http check, and a template that reads app.base_url, need the app


def test_an_env_check_says_what_is_missing_when_the_app_cannot_start(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        "app:\n  command: [python3, -m, http.server, '{{ app.port }}']\n"
        "  env: {SECRET_KEY: '{{ env.GOLIVE_T_SECRET_KEY }}'}\n"
        "checks:\n  - {id: secret-key, env: [GOLIVE_T_SECRET_KEY]}\n  - {id: home, http: {get: /}}\n"
    )
    result = run(tmp_path, unset=("GOLIVE_T_SECRET_KEY",))
    assert result.returncode == 1
    assert (
        "FAILED golive.yaml::secret-key - golive.yaml:6:5: GOLIVE_T_SECRET_KEY: expected set, got not set"
        in result.stdout
    )
    assert "ERROR golive.yaml::home - golive.yaml:4:21: app.env.SECRET_KEY: template error" in result.stdout
    assert "Traceback" not in result.stdout


def test_template_values_become_strings_for_the_os(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\nvars: {workers: 4}\n"
        + app_section(APP_PORT="'{{ app.port }}'", APP_WORKERS="'{{ vars.workers }}'", APP_DEBUG="false", APP_N="2")
        + "checks:\n  - id: env\n    http: {get: /env}\n"
        "    expect: {json: {APP_PORT: {match: '^[0-9]+$'}, APP_WORKERS: '4', APP_DEBUG: 'false', APP_N: '2'}}\n"
    )
    result = run(tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Traceback" not in result.stdout


@pytest.mark.parametrize(("value", "what"), [("'{{ vars.mapping }}'", "a mapping"), ("'{{ vars.listed }}'", "a list")])
def test_a_value_the_os_cannot_take_is_one_located_line(tmp_path: Path, value: str, what: str) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\nvars: {mapping: {a: 1}, listed: [1, 2]}\n"
        + app_section(APP_BAD=value)
        + "checks:\n  - {id: home, http: {get: /health}}\n"
    )
    result = run(tmp_path)
    assert result.returncode == 1
    assert any(
        fnmatch.fnmatch(line, f"golive.yaml:5:*: app.env.APP_BAD: expected a string, number or boolean, got {what}")
        for line in result.stdout.splitlines()
    ), result.stdout[-2000:]
    assert "ERROR golive.yaml::home" in result.stdout
    assert "Traceback" not in result.stdout


def test_setup_commands_run_before_the_app_with_its_env_and_cwd(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        "app:\n  cwd: site\n  env: {GREETING: hello, STEP: 2}\n"
        "  setup:\n    - [sh, -c, 'echo \"$GREETING\" > first.txt']\n"
        "    - [sh, -c, 'cat first.txt > page.txt; echo \"step $STEP on port $PORT\" >> page.txt']\n"
        "  command: [python3, -m, http.server, '{{ app.port }}']\n"
        "checks:\n  - id: page\n    http: {get: /page.txt}\n    expect: {body: {match: '^hello\\nstep 2 on port [0-9]+'}}\n"
    )
    result = run(tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]


def test_a_failing_setup_command_means_the_app_did_not_start(tmp_path: Path) -> None:
    started = tmp_path / "app-started"
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        "app:\n  setup:\n    - [sh, -c, 'echo upgrading; echo \"relation users does not exist\"; exit 4']\n"
        f"  command: [sh, -c, 'touch {started}; exec python3 -m http.server $PORT']\n"
        "checks:\n  - {id: home, http: {get: /}}\n  - {id: other, command: 'true'}\n"
    )
    result = run(tmp_path)
    assert result.returncode == 1
    assert (
        'golive.yaml:4:7: app.setup[0]: app setup command sh -c \'echo upgrading; echo "relation users does not exist"; '
        "exit 4' failed with exit status 4, so the app did not start" in result.stdout
    )
    assert "    relation users does not exist" in result.stdout
    assert "ERROR golive.yaml::home" in result.stdout
    assert "PASSED golive.yaml::other" in result.stdout
    assert not started.exists()


def test_an_app_port_another_server_answers_on_is_an_error_not_a_pass(tmp_path: Path) -> None:
    """A leftover dev server holds the app's fixed port: the app cannot bind it and exits, and
    the checks must not pass against the other server (they did: its answers made the app look
    ready). A real HTTP server holds the port."""
    (tmp_path / "squatter").mkdir()
    (tmp_path / "squatter" / "index.html").write_text("an older release\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    squatter = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", "squatter"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        app = f"app: {{command: [sh, -c, 'echo cannot bind; exit 1'], port: {port}, ready: {{http: /, timeout: 10s}}}}"
        (tmp_path / "golive.yaml").write_text(
            f"golive: 1\n{app}\nchecks:\n  - {{id: home, http: {{get: /}}, expect: {{status: 200}}}}\n"
        )
        result = run(tmp_path)
    finally:
        squatter.kill()
        squatter.wait()
    assert result.returncode == 1, result.stdout
    assert "ERROR golive.yaml::home" in result.stdout
    assert (
        f"golive.yaml:2:{app.index(str(port)) + 1}: app.port: port {port} on 127.0.0.1 is in use by another process, so checks would "
        "reach it instead of the app: stop it, or leave out app.port for a free one" in result.stdout
    )


def test_app_python_is_the_apps_own_interpreter(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True, timeout=GUARD_S)
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        "app: {python: venv/bin/python, command: ['{{ app.python }}', -m, http.server, '{{ app.port }}']}\n"
        "checks:\n"
        "  - id: interpreter\n    command: ['{{ app.python }}', -c, 'import sys; print(sys.prefix)']\n"
        f'    expect: {{stdout: "{tmp_path}/venv\\n"}}\n'
        "  - {id: served, http: {get: /}}\n"
    )
    result = run(tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]


def test_app_logs_are_kept_redacted_and_their_tail_shown_without_colour(
    tmp_path: Path, runs_dir: dict[str, str]
) -> None:
    secret = "tok-5ecr3t-value-123"
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        + app_section(APP_LOG_LINES="40", APP_SECRET_TOKEN=f"'{secret}'")
        + "checks:\n  - {id: broken, http: {get: /fail}}\n"
    )
    result = run(tmp_path, "--junitxml=junit.xml", "--tb=long", env=runs_dir)
    assert result.returncode == 1
    output = result.stdout
    assert secret not in output
    assert "\x1b[" not in output
    assert "app log, last 30 lines (all of it: " in output
    assert "    INFO starting, line 39" in output
    assert "    INFO starting, line 9" not in output  # only the last 30 lines
    assert "    token is ***" in output
    kept = Path(output.split("app logs (redacted): ")[1].split()[0])
    assert kept.parent == tmp_path / "golive-logs"
    (log,) = kept.iterdir()
    text = log.read_text()
    assert "INFO\x1b[0m starting, line 0" in text  # all of it, as the app wrote it ...
    assert "token is ***" in text  # ... but for its secrets
    assert secret not in text
    properties = {p.get("name"): p.get("value") for p in ET.parse(tmp_path / "junit.xml").iter("property")}
    assert properties["golive.app_log"] == str(log)
    assert not list(Path(runs_dir["GOLIVE_RUNS_DIR"]).iterdir())  # the run's own folder is gone; the logs stay
    cleanup = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "cleanup"],
        env={**os.environ, **runs_dir},
        capture_output=True,
        check=False,
    )
    assert cleanup.returncode == 0
    assert log.exists()


def test_the_logs_folder_is_an_option_with_an_ini_twin(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n" + app_section() + "checks:\n  - {id: a, http: {get: /health}}\n"
    )
    by_option = run(tmp_path, "--golive-logs", "out/option-logs")
    assert by_option.returncode == 0, by_option.stdout[-2000:]
    assert len(list((tmp_path / "out" / "option-logs").iterdir())) == 1
    by_ini = run(tmp_path, "-o", "golive_logs=ini-logs")
    assert by_ini.returncode == 0
    assert f"app logs (redacted): {tmp_path}/ini-logs/" in by_ini.stdout


CONNECTED = """\
golive: 1
services: {{db: {{kind: postgres}}, cache: {{kind: redis}}}}
{app}checks:
  - {{id: golive-queries-first, sql: "select 1"}}
  - id: used
    connected: {spec}
"""

#: folder: the app's mode, the connected spec, whether it passes
CONNECTED_CASES = {
    "pool-without-probe": ("pool", "{}", True),
    "per-request-with-probe": ("per-request", "{probe: [{http: {get: /use}}]}", True),
    "per-request-without-probe": ("per-request", "{within: 2s}", False),
    "hollow": ("hollow", "{services: [db, cache], probe: [{http: {get: /use}}], within: 2s}", False),
}


def test_connected_proves_the_app_used_its_services(tmp_path: Path, runs_dir: dict[str, str], provider: str) -> None:
    for folder, (mode, spec, _) in CONNECTED_CASES.items():
        (tmp_path / folder).mkdir()
        app = app_section(
            mode,
            DATABASE_URL="'{{ services.db.url }}'",
            REDIS_URL="'{{ services.cache.url }}'",
            APP_SECRET_TOKEN="tok-0123456789",
        )
        (tmp_path / folder / "golive.yaml").write_text(CONNECTED.format(app=app, spec=spec))
    result = run(tmp_path, "--golive-provider", provider, env=runs_dir)
    # golive's own session of the check before (whose stats land as its backend exits) is not the app's
    for folder, (_, _, passes) in CONNECTED_CASES.items():
        assert f"{'PASSED' if passes else 'FAILED'} {folder}/golive.yaml::used" in result.stdout, result.stdout[-4000:]
    output = result.stdout
    assert "FAILED hollow/golive.yaml::used - hollow/golive.yaml:9:5: the app never connected to service db: " in output
    assert "expected a client of its database golive_" in output
    assert "the app never connected to service cache: expected a client on its db 0 other than golive" in output
    assert "        DATABASE_URL=postgresql://golive:***@127.0.0.1:" in output
    assert "        APP_SECRET_TOKEN=***" in output
    assert "tok-0123456789" not in output
    assert "Traceback" not in output


def test_two_services_of_one_spec_get_a_database_each(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        "services:\n  main: {kind: postgres}\n  audit: {kind: postgres}\n  cache: {kind: redis}\n  queue: {kind: redis}\n"
        "checks:\n"
        "  - {id: main-table, sql: {query: 'CREATE TABLE only_main (id int)', service: main}}\n"
        "  - id: audit-apart\n"
        "    sql: {query: \"SELECT to_regclass('only_main') IS NULL AS apart\", service: audit}\n"
        "    expect: {scalar: true}\n"
        "  - {id: cache-key, redis: {command: [SET, only-cache, '1'], service: cache}}\n"
        "  - {id: queue-apart, redis: {command: [EXISTS, only-cache], service: queue}, expect: {value: 0}}\n"
        "  - id: names\n"
        '    command: "echo {{ services.main.database }} {{ services.audit.database }} {{ services.cache.db }} {{ services.queue.db }}"\n'
    )
    result = run(tmp_path, "--golive-provider", "local", "-p", "no:randomly", "--junitxml=junit.xml", env=runs_dir)
    assert result.returncode == 0, result.stdout[-3000:]
    xml = (tmp_path / "junit.xml").read_text()
    assert "golive.service.main" in xml


@pytest.fixture
def failing_checklist(tmp_path: Path, shop_url: str) -> Path:
    """A failing check whose report's first line is longer than --tb=line used to keep (50 characters)."""
    (tmp_path / "release-checklists").mkdir()
    (tmp_path / "release-checklists" / "golive.yaml").write_text(
        f"golive: 1\napp: {{base_url: '{shop_url}'}}\nchecks:\n"
        "  - id: health\n    http: {get: /status/503}\n    expect: {status: 200, json: {status: ok}}\n"
    )
    return tmp_path


HEADLINE = "release-checklists/golive.yaml:4:5: status: expected 200, got 503"


def test_tb_line_shows_the_first_mismatch_line(failing_checklist: Path) -> None:
    result = run(failing_checklist, "--tb=line")
    lines = result.stdout.splitlines()
    assert lines.count(HEADLINE) == 2  # the report's first line, then the crash line pytest adds
    assert HEADLINE[:50] not in lines  # not cut


def test_junit_message_is_the_first_line(failing_checklist: Path) -> None:
    run(failing_checklist, "--junitxml=junit.xml", "-o", "junit_family=xunit2")
    (failure,) = ET.parse(failing_checklist / "junit.xml").iter("failure")
    assert failure.get("message") == HEADLINE
    assert failure.text is not None
    assert failure.text.startswith(HEADLINE + "\n  check 'health'")


def test_json_report_crash_is_filled(failing_checklist: Path) -> None:
    run(failing_checklist, "--json-report", "--json-report-file=report.json")
    (test,) = json.loads((failing_checklist / "report.json").read_text())["tests"]
    crash = {"path": str(failing_checklist / "release-checklists" / "golive.yaml"), "lineno": 4, "message": HEADLINE}
    assert test["call"]["crash"] == crash


def test_failures_read_the_same_under_xdist(failing_checklist: Path) -> None:
    result = run(failing_checklist, "-n", "2", "-p", "xdist", "--tb=line", "--junitxml=junit.xml")
    assert result.stdout.splitlines().count(HEADLINE) == 2
    (failure,) = ET.parse(failing_checklist / "junit.xml").iter("failure")
    assert failure.get("message") == HEADLINE
