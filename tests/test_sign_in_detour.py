"""An ``http`` check of a page that wants a login, whose redirect ends on the login form:
``status: 200`` (and the default ``< 400``) held on the form that answered instead, so
"the dashboard loads" was green for a page nobody anonymous can see. Against a real HTTP
server whose pages redirect as Django's ``login_required`` does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from local_http import QuietHandler, served
from outcomes import outcomes

REDIRECTS = {"/dashboard/": "/accounts/login/?next=/dashboard/", "/logout/": "/accounts/login/", "/old/": "/new/"}


class _Site(QuietHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in REDIRECTS:
            self.reply(302, b"", headers={"Location": REDIRECTS[path]})
        else:
            self.reply(200, b"<html><body><form id=login></form></body></html>", "text/html")


@pytest.fixture
def site() -> Iterator[str]:
    with served(_Site) as url:
        yield url


def test_a_page_answered_by_the_login_form_is_not_served(pytester: pytest.Pytester, site: str) -> None:
    pytester.makefile(
        ".yaml",
        golive=f"""\
golive: 1
app: {{base_url: "{site}"}}
checks:
  - {{id: dashboard-loads, http: {{get: /dashboard/}}, expect: {{status: 200}}}}
  - {{id: dashboard-default, http: {{get: /dashboard/}}}}
  - id: redirect-checked
    http: {{get: /dashboard/, follow_redirects: false}}
    expect: {{status: 302, headers: {{location: {{contains: /accounts/login/}}}}}}
  - {{id: redirect-followed-on-purpose, http: {{get: /dashboard/, follow_redirects: true}}}}
  - {{id: logout-lands-on-login, http: {{get: /logout/}}}}
  - {{id: login-page, http: {{get: /accounts/login/}}, expect: {{status: 200}}}}
  - {{id: moved-page, http: {{get: /old/}}, expect: {{status: 200}}}}
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    assert outcomes(result) == {
        "dashboard-loads": "FAILED",
        "dashboard-default": "FAILED",
        "redirect-checked": "PASSED",
        "redirect-followed-on-purpose": "PASSED",
        "logout-lands-on-login": "PASSED",
        "login-page": "PASSED",
        "moved-page": "PASSED",
    }
    result.stdout.fnmatch_lines(
        [
            "golive.yaml:4:5: page: expected /dashboard/ served, got redirected to the sign-in page /accounts/login/: "
            "an anonymous user does not get it; log in first (a step that posts the login form), or check the "
            "redirect itself (follow_redirects: false, status: 302)"
        ]
    )
