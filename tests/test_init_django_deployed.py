"""``golive init`` on a Django project whose settings are split into base/dev/production
modules, the layout of wagtail/bakerydemo (read, never run): manage.py defaults to the dev
settings, the Dockerfile's ENV deploys the production ones, and only those use Redis and
redirect plain HTTP to HTTPS behind the TLS proxy that says the request came over TLS
(``SECURE_SSL_REDIRECT = True`` with ``SECURE_PROXY_SSL_HEADER``).
fixtures/projects/django-proxied mimics that layout; its code is our own."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from pytest_golive.checklist.loader import load_checklist
from pytest_golive.checks.registry import load_kind_schemas
from pytest_golive.onboarding.detect import inspect_project
from pytest_golive.onboarding.render import render_checklist

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "projects" / "django-proxied"


def written(tmp_path: Path, prepare: Any = None) -> tuple[dict[str, Any], dict[str, str], Path]:
    repo = tmp_path / "django-proxied"
    shutil.copytree(SAMPLE, repo)
    if prepare is not None:
        prepare(repo)
    project = inspect_project(repo)
    facts = {f"{fact.topic}: {fact.value}": fact.evidence for fact in project.facts}
    text = render_checklist(project)
    (repo / "golive.yaml").write_text(text)
    return yaml.safe_load(text), facts, repo


def test_the_deployed_settings_module_beats_manage_pys_default(tmp_path: Path) -> None:
    """bakerydemo: init said ``settings bakerydemo.settings.dev (manage.py)`` while the app it
    wrote ran with the production settings of the Dockerfile, the only ones that use Redis."""
    checklist, facts, repo = written(tmp_path)
    assert facts.get("settings: orchard.settings.production") == "Dockerfile:5"
    assert "settings: orchard.settings.dev" not in facts
    assert checklist["app"]["env"]["DJANGO_SETTINGS_MODULE"] == "orchard.settings.production"
    walk = next(check for check in checklist["checks"] if check["id"] == "migrations-reversible")
    assert walk["migrations"] == {"django": "manage.py", "settings": "orchard.settings.production"}
    load_checklist(repo / "golive.yaml", load_kind_schemas())  # one DJANGO_SETTINGS_MODULE, a valid checklist


def test_manage_py_that_forces_its_settings_keeps_them(tmp_path: Path) -> None:
    def forced(repo: Path) -> None:
        manage = repo / "manage.py"
        manage.write_text(
            manage.read_text().replace(
                'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchard.settings.dev")',
                'os.environ["DJANGO_SETTINGS_MODULE"] = "orchard.settings.dev"',
            )
        )

    _, facts, _ = written(tmp_path, forced)
    assert facts.get("settings: orchard.settings.dev") == "manage.py"


def test_settings_that_redirect_to_https_behind_a_proxy_get_the_proxys_header(tmp_path: Path) -> None:
    """bakerydemo's production settings redirect every plain-HTTP request to HTTPS unless
    X-Forwarded-Proto says https: every check of init's checklist failed on the redirect."""
    checklist, facts, repo = written(tmp_path)
    assert checklist["app"]["headers"] == {"X-Forwarded-Proto": "https"}
    assert any(fact.startswith("TLS proxy: X-Forwarded-Proto: https") for fact in facts)
    app = load_checklist(repo / "golive.yaml", load_kind_schemas()).app
    assert app is not None
    assert app.headers == {"X-Forwarded-Proto": "https"}


def test_no_proxy_header_for_settings_that_serve_plain_http(tmp_path: Path) -> None:
    """The header would make Django treat every request as HTTPS (secure cookies, strict
    Referer checks on POST): it is only sent where the settings need it."""

    def dev_deployed(repo: Path) -> None:
        dockerfile = repo / "Dockerfile"
        dockerfile.write_text(dockerfile.read_text().replace("settings.production", "settings.dev"))

    checklist, _, _ = written(tmp_path, dev_deployed)
    assert "headers" not in checklist["app"]


def test_the_home_page_an_installed_cms_serves_is_probed_and_a_router_is_no_page(tmp_path: Path) -> None:
    """bakerydemo: ``path("", include(wagtail_urls))`` serves every page from "/" down, but
    init probed /search/ and ``/api/v2/``, the prefix of an API router's URLconf
    (``path("api/v2/", api_router.urls)``), which answered 404."""
    checklist, facts, _ = written(tmp_path)
    probes = [step["http"]["get"] for step in checklist["checks"][-1]["connected"]["probe"]]
    assert facts.get("key route: /") is not None, facts
    assert probes[0] == "/"
    assert "/api/v1/" not in probes
    assert "/django-admin/" not in probes
