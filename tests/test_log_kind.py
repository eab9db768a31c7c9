"""The ``log`` kind on the real output of an app golive starts: a shell that prints coloured
lines, then Python's http.server, which logs every request it answers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from test_app import run

#: colour codes around ERROR, so that only a log read without them sees the word
APP = r"""app:
  command: [sh, -c, 'printf "\033[31mERROR\033[0m boom at startup\nlevel=warning slow disk\n"; exec python3 -m http.server $PORT']
  ready: {timeout: 20s}
"""


def test_levels_patterns_and_text_of_the_apps_own_log(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        + APP
        + textwrap.dedent(
            """\
            checks:
              - id: startup-logged
                log: {since: start}
                expect:
                  levels: {ERROR: 1, WARNING: 1, CRITICAL: 0}
                  text: {contains: "ERROR boom at startup"}
              - id: request-logged-after-the-step
                steps:
                  - http: {get: /marker-4711}
                    expect: {status: 404}
                  - log: {since: check}
                    expect: {count: {'GET /marker-\\d+ HTTP': 1, 'boom': 0}}
              - id: no-errors
                log: {since: start}
                expect: {levels: {ERROR: 0}}
            """
        )
    )
    result = run(tmp_path, "--junitxml=out.xml", env=runs_dir)
    assert "PASSED golive.yaml::startup-logged" in result.stdout, result.stdout[-3000:]
    assert "PASSED golive.yaml::request-logged-after-the-step" in result.stdout, result.stdout[-3000:]
    assert "FAILED golive.yaml::no-errors" in result.stdout
    assert "levels.ERROR: expected 0, got 1 (first: 'ERROR boom at startup')" in result.stdout
    assert "\x1b[" not in result.stdout


def test_a_log_step_with_no_step_before_it_reads_since_the_app_started(
    tmp_path: Path, runs_dir: dict[str, str]
) -> None:
    """ "No server errors in the logs" as a check of one log step: since the check started, it
    read nothing (no step of it had run) and passed over an ERROR line; with no step before it,
    ``since`` defaults to start. Written, ``since: check`` is kept."""
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        + APP
        + textwrap.dedent(
            """\
            checks:
              - id: no-server-errors
                log: {}
                expect: {levels: {ERROR: 0}}
              - id: first-step-of-a-flow
                steps:
                  - log: {}
                    expect: {text: {contains: boom at startup}}
                  - http: {get: /after}
                    expect: {status: 404}
              - id: written-since-check
                log: {since: check}
                expect: {levels: {ERROR: 0}}
            """
        )
    )
    result = run(tmp_path, env=runs_dir)
    assert "FAILED golive.yaml::no-server-errors" in result.stdout, result.stdout[-3000:]
    assert "levels.ERROR: expected 0, got 1 (first: 'ERROR boom at startup')" in result.stdout
    assert "PASSED golive.yaml::first-step-of-a-flow" in result.stdout
    assert "PASSED golive.yaml::written-since-check" in result.stdout


def test_an_app_that_wrote_nothing_proves_no_count(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    """An app whose output goes elsewhere (its own log file) left an empty log, and "no errors
    in the logs" passed over it; ``lines: 0`` says the app writes nothing."""
    (tmp_path / "golive.yaml").write_text(
        textwrap.dedent(
            """\
            golive: 1
            app:
              command: [sh, -c, 'exec python3 -m http.server $PORT >/dev/null 2>&1']
              ready: {timeout: 20s}
            checks:
              - id: no-errors
                log: {since: start}
                expect: {levels: {ERROR: 0}}
              - id: silent-app
                log: {since: start}
                expect: {lines: 0, levels: {ERROR: 0}}
            """
        )
    )
    result = run(tmp_path, env=runs_dir)
    assert "FAILED golive.yaml::no-errors" in result.stdout, result.stdout[-3000:]
    assert "lines: expected at least one line since the app started" in result.stdout
    assert "got none: the app has written nothing to its output" in result.stdout
    assert "PASSED golive.yaml::silent-app" in result.stdout


def test_a_line_written_before_the_check_is_not_after_its_step(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    """Since the check started: the first check's request is in the log, not in the second's read."""
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        + APP
        + textwrap.dedent(
            """\
            checks:
              - id: earlier
                http: {get: /earlier-request}
                expect: {status: 404}
              - id: reads-only-its-own
                steps:
                  - http: {get: /own-request}
                    expect: {status: 404}
                  - log: {}
                    expect: {count: {'/earlier-request': 1}}
            """
        )
    )
    result = run(tmp_path, env=runs_dir)
    assert "FAILED golive.yaml::reads-only-its-own" in result.stdout, result.stdout[-3000:]
    assert "count['/earlier-request']: expected 1, got 0" in result.stdout


def test_log_of_an_external_app_is_a_located_configuration_error(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: audit
            steps:
              - http: {get: /health}
              - log: {}
                expect: {levels: {ERROR: 0}}
        """
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "validate", "golive.yaml"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "golive.yaml:7:14: checks[0].steps[1].log: log reads the output of the app golive starts "
        "(app.command); this app is external (a base URL), so golive has no log of it"
    )


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        (
            "{count: {'(?P<x>a)': 1}}",
            "golive.yaml:6:22: checks[0].expect.count.(?P<x>a): invalid regular expression '(?P<x>a)': (?P<name>...) is Python-only",
        ),
        ("{levels: {'ERROR 500': 0}}", "checks[0].expect.levels.ERROR 500: expected a level name: letters only"),
        ("{lvels: {ERROR: 0}}", "checks[0].expect.lvels: unknown key 'lvels' (did you mean 'levels'?)"),
    ],
)
def test_log_misuse_is_one_located_line(pytester: pytest.Pytester, expect: str, message: str) -> None:
    pytester.makefile(
        ".yaml",
        golive="golive: 1\napp: {command: [python3, -m, http.server, '{{ app.port }}']}\n"
        f"checks:\n  - id: l\n    log: {{since: start}}\n    expect: {expect}\n",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "validate", "golive.yaml"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stdout
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


#: what a Fastify (pino) app and an nginx in front of one write for an error, and a line at info
NODE_APP = r"""app:
  command: [sh, -c, 'printf "{\"level\":30,\"msg\":\"listening\"}\n{\"level\":50,\"msg\":\"db down\"}\n2026/11/27 20:00:00 [error] 7#0: upstream timed out\n{\"severity\":\"error\",\"message\":\"x\"}\n"; exec python3 -m http.server $PORT']
  ready: {timeout: 20s}
"""


def test_numeric_bracketed_and_severity_levels_count(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    """pino's ``"level":50``, nginx's ``[error]`` and ``"severity": "error"`` are errors: "no
    errors in the logs" passed over all three."""
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        + NODE_APP
        + textwrap.dedent(
            """\
            checks:
              - id: errors-counted
                log: {since: start}
                expect: {levels: {error: 3, info: 1, FATAL: 0}}
            """
        )
    )
    result = run(tmp_path, env=runs_dir)
    assert "PASSED golive.yaml::errors-counted" in result.stdout, result.stdout[-3000:]
