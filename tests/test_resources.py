"""``resources:`` on load and watch: the app golive starts, a real process tree (a Python
server and a child that holds 100 MiB), sampled with psutil; and the configuration errors
when there is no process to sample."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_app import run

from pytest_golive.checks.resources import ResourceSampler

#: the app: an HTTP server whose shell first starts a child holding 100 MiB, so only a
#: sample of the whole tree (not of the server alone, about 20 MiB) sees the memory
APP = """\
app:
  command: [sh, -c, 'python3 -c "import time; held = b\\"x\\" * (100 * 2**20); time.sleep(3600)" & exec python3 -m http.server $PORT']
  ready: {timeout: 20s}
"""


def properties(junit: Path, testcase: str) -> dict[str, str]:
    text = junit.read_text()
    case = text[text.index(f'name="{testcase}"') :]
    case = case[: case.index("</testcase>")]
    return dict(re.findall(r'<property name="([^"]+)" value="([^"]*)" />', case))


def test_load_samples_the_apps_whole_process_tree(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        + APP
        + textwrap.dedent(
            """\
            checks:
              - id: lean
                load: {get: /, rate: 20/s, duration: 2s, min_samples: 10}
                expect: {resources: {rss_mb: {max: 50}}}
              - id: roomy
                load: {get: /, rate: 20/s, duration: 2s, min_samples: 10}
                expect:
                  error_rate: 0
                  resources:
                    rss_mb: {max: 5000, p95: ">= 100"}
                    cpu_percent: {p95: 800}
                    open_fds: {max: 10000}
                    threads: {max: 1000}
            """
        )
    )
    result = run(tmp_path, "--junitxml=out.xml", env=runs_dir)
    assert "golive.yaml:6:5: resources.rss_mb.max: expected <= 50, got 1" in result.stdout, result.stdout[-3000:]
    assert "FAILED golive.yaml::lean" in result.stdout
    assert "PASSED golive.yaml::roomy" in result.stdout, result.stdout[-3000:]
    found = properties(tmp_path / "out.xml", "roomy")
    assert float(found["golive.resources.rss_mb.max"]) >= 100
    assert int(float(found["golive.resources.threads.max"])) >= 2  # the server and its child
    assert {
        f"golive.resources.{name}.{stat}" for name in ("cpu_percent", "open_fds") for stat in ("max", "p95")
    } <= set(found)


def test_a_watch_window_samples_the_app_too(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        + APP
        + textwrap.dedent(
            """\
            checks:
              - id: steady
                http: {get: /}
                expect: {status: 200}
                watch:
                  every: 200ms
                  for: 1s
                  expect: {availability: 1, resources: {rss_mb: {p95: ">= 100 and <= 5000"}, threads: {max: 1}}}
            """
        )
    )
    result = run(tmp_path, env=runs_dir)
    # the server's thread and its child's: at least 2 in the tree
    assert "golive.yaml:6:5: resources.threads.max: expected <= 1, got " in result.stdout, result.stdout[-3000:]
    assert "FAILED golive.yaml::steady" in result.stdout
    assert "resources.rss_mb" not in result.stdout  # 100 MiB and more: its bounds held


def test_resources_on_an_external_app_is_a_located_configuration_error(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: under-load
            load: {get: /health, rate: 10/s, duration: 1s}
            expect: {resources: {cpu_percent: {max: 90}}}
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
        "golive.yaml:6:25: checks[0].expect.resources: resources samples the app process golive starts "
        "(app.command); this app is external (a base URL), so there is no process to sample"
    )


def test_resources_against_a_base_url_given_at_run_time_fails_located(pytester: pytest.Pytester, shop_url: str) -> None:
    """The checklist starts its app, but --golive-base-url points the run elsewhere."""
    pytester.makefile(
        ".yaml",
        golive="golive: 1\n"
        + APP
        + "checks:\n  - id: steady\n    http: {get: /health}\n"
        + "    watch: {every: 100ms, for: 300ms, expect: {resources: {rss_mb: {max: 500}}}}\n",
    )
    result = pytester.runpytest_subprocess("--golive-base-url", shop_url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*golive.yaml:8:59: checks?0?.watch.expect.resources: resources samples the app process golive starts*"]
    )


def test_sampler_reads_a_real_process_and_outlives_its_end() -> None:
    """A child that holds 64 MiB, then exits while the sampler still runs: figures from the
    samples it had, and no error for the process that went away."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; held = b'x' * (64 * 2**20); time.sleep(0.8)"],
    )
    try:
        with ResourceSampler(lambda: child.pid, every_s=0.05) as sampler:
            child.wait(timeout=30)
            time.sleep(0.2)
    finally:
        child.kill()
        child.wait()
    figures = sampler.figures()
    assert figures["rss_mb"]["max"] >= 64
    assert figures["threads"]["max"] >= 1
    assert figures["rss_mb"]["p95"] <= figures["rss_mb"]["max"]
