"""Shared fixtures: a real HTTP server (fixtures/demo/app.py) and checklist writing."""

from __future__ import annotations

import importlib.util
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

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
