"""What `golive init` got wrong on healthchecks (tests/realapps/README.md), on a sample of its
layout in fixtures/projects/django-site-root: a URLconf whose prefix is a variable
(``path(prefix, include(...))``, ``f"{prefix}admin/"``) and lists of patterns included by
name (``include(check_urls)``), the site's address in ``SITE_ROOT`` (which gives
``ALLOWED_HOSTS``), a metrics route under a project's ``<uuid:code>``. Static only."""

from __future__ import annotations

from pathlib import Path

from test_onboarding import checks_of, written


def test_routes_keep_the_prefixes_of_a_urlconf_with_a_prefix_variable(tmp_path: Path) -> None:
    """healthchecks' root URLconf includes every app with ``path(prefix, include(...))``: the
    walk could not read the prefix, so init fell back to each ``path()`` of each urls.py
    without the prefixes it is included under. The health route became ``/status/``, a
    check's page (``checks/<uuid:code>/status/``), which answers 404; the app's own
    ``/api/v1/status/`` (a list of patterns included by name) was not seen."""
    checklist, facts = written("django-site-root", tmp_path)
    assert "health route /api/v1/status/" in facts
    assert checklist["vars"]["health_path"] == "/api/v1/status/"
    assert checklist["app"]["ready"]["http"] == "/api/v1/status/"
    assert "/checks/<uuid:code>/status/" not in facts


def test_a_route_with_parameters_is_no_metrics_route(tmp_path: Path) -> None:
    """``projects/<uuid:code>/metrics/`` became the smoke suite's metrics path, requested as
    written: ``GET /projects/<uuid:code>/metrics/``, which no app serves."""
    checklist, facts = written("django-site-root", tmp_path)
    assert "metrics route /api/v1/metrics/" in facts
    assert checklist["vars"]["metrics_path"] == "/api/v1/metrics/"
    assert not [value for value in checklist.get("vars", {}).values() if "<" in str(value)]


def test_the_site_root_is_where_golive_serves_the_app(tmp_path: Path) -> None:
    """healthchecks reads ``SITE_ROOT`` (default ``http://localhost:8000``) and allows only its
    host: every request golive made to 127.0.0.1 got 400 (DisallowedHost)."""
    env = written("django-site-root", tmp_path)[0]["app"]["env"]
    assert env["SITE_ROOT"] == "{{ app.base_url }}"
    assert env["DB"] == "postgres"


def test_views_that_send_anonymous_users_away_are_no_key_route(tmp_path: Path) -> None:
    """healthchecks' home page ``/`` starts with ``if not request.user.is_authenticated:
    return redirect("hc-login")``: init made it the key route, so the smoke check of the key
    route passed on the login page it was redirected to. ``@login_required``, the project's
    own ``@authorize`` (also on the views an API view hands each request to) and
    ``@require_POST`` in the views module (not in the URLconf) were
    probes of the connected check: a redirect to the login page, a 401 and a 405. Next came
    ``/accounts/login_link_sent/``, a step of the sign-in flow, then ``/api/v1/bounces/``, a
    webhook that reads the request's body, then ``/api/v2/metrics/``, the same metrics route
    under the API's next version."""
    checklist, facts = written("django-site-root", tmp_path)
    assert "key route /docs/" in facts
    assert checklist["vars"]["perf_path"] == "/docs/"
    probes = [probe["http"]["get"] for probe in checks_of(checklist)["app-used-services"]["connected"]["probe"]]
    assert probes[:2] == ["/api/v1/status/", "/docs/"]
    assert not [probe for probe in probes if probe.endswith("/metrics/")]
    for page in (
        "/",
        "/profile/",
        "/projects/add/",
        "/api/v1/checks/",
        "/accounts/login_link_sent/",
        "/api/v1/bounces/",
    ):
        assert page not in probes
