"""The browser kind in real headless Chromium (the machine's), against a real HTTP server.

Every check id says the outcome it must have: ``ok-*`` passes, ``bad-*`` fails."""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_http import QuietHandler, served
from test_kinds import checked_run

from pytest_golive.checks.browser import find_browser

PAGES = {
    "/": "<title>Shop</title><h1>Shop</h1><p class=lead>Fresh <b>coffee</b> daily</p><p id=hidden hidden>secret</p>"
    "<a class=basket hidden>Basket (0)</a><a class=basket>Basket (2)</a>",
    "/console-error": "<title>Broken</title><h1>Shop</h1><script>console.error('checkout widget failed')</script>",
    "/throws": "<title>Throws</title><script>undefinedFunction()</script>",
    "/broken-image": "<title>Image</title><img src='/missing.png' alt=x>",
    "/late": "<title>Late</title><script>setTimeout(() => { document.body.insertAdjacentHTML('beforeend',"
    " '<div class=toast>Saved</div>') }, 300)</script>",
    "/form": "<title>Sign in</title><form action=/signed-in method=post><input name=email id=email>"
    "<button id=go type=submit>Go</button></form><button id=reveal onclick=\"document.getElementById('panel')"
    '.hidden=false">More</button><div id=panel hidden>Panel open</div>',
    "/pwa": "<title>PWA</title><link rel=manifest href=/manifest.json><h1>Offline ready</h1><script>"
    "navigator.serviceWorker.register('/sw.js')</script>",
    # after the load, an image that takes seconds; a click leaves the page before it comes
    "/leaves": "<title>Leaves</title><a id=away href=/>Away</a><script>addEventListener('load', () => {"
    " const image = new Image(); image.src = '/stall'; document.body.append(image) })</script>",
    "/wide": "<title>Wide</title><meta name=viewport content='width=device-width'><script>document.title = 'Wide ' + window.innerWidth</script>",
}
SERVICE_WORKER = """
self.addEventListener('install', event => { self.skipWaiting();
  event.waitUntil(caches.open('v1').then(cache => cache.addAll(['/pwa']))); });
self.addEventListener('activate', event => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', event => event.respondWith(
  caches.match(event.request).then(found => found || fetch(event.request))));
"""
MANIFEST = '{"name": "Demo Shop", "short_name": "Shop", "icons": [{"src": "/icon.png", "sizes": "192x192"}]}'


class _Pages(QuietHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path in PAGES:
            self.reply(200, "<!doctype html><html><body>" + PAGES[path] + "</body></html>", "text/html")
        elif path == "/stall":
            time.sleep(3)
            self.reply(200, "<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")
        elif path == "/sw.js":
            self.reply(200, SERVICE_WORKER, "text/javascript")
        elif path == "/manifest.json":
            self.reply(200, MANIFEST, "application/manifest+json")
        else:
            self.reply(404, "not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        email = self.rfile.read(length).decode().partition("=")[2].replace("%40", "@")
        self.reply(200, f"<!doctype html><title>Welcome</title><h1 id=hello>Hello {email}</h1>", "text/html")


@pytest.fixture(scope="module")
def pages_url() -> Iterator[str]:
    with served(_Pages) as url:
        yield url


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    if find_browser() is None:
        if __import__("os").environ.get("CI"):
            pytest.fail("no Chromium on this machine: CI must have one (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")


CHECKS = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - id: ok-page
    browser: {open: /}
    expect:
      status: 200
      title: Shop
      selectors:
        h1: {visible: true, text: Shop}
        p.lead: {text: Fresh coffee daily, count: 1}
        "#hidden": {visible: false}
      html: {p.lead b: {text: coffee}}
      load_ms: ">= 0"
  - {id: bad-title, browser: {open: /}, expect: {title: Basket}}
  - {id: bad-visible, browser: {open: /}, expect: {selectors: {"#hidden": {visible: true}}}}
  - {id: bad-hidden-text, browser: {open: /}, expect: {selectors: {"#hidden": {text: secret}}}}
  - {id: ok-hidden-text-said, browser: {open: /}, expect: {selectors: {"#hidden": {visible: false, text: secret}}}}
  - {id: ok-shown-copy, browser: {open: /}, expect: {selectors: {a.basket: {text: Basket (2), count: 2}}}}
  - {id: bad-missing-element, browser: {open: /}, expect: {selectors: {.cart: {visible: true}}}}
  - {id: bad-console-error, browser: {open: /console-error}}
  - {id: ok-console-error-allowed, browser: {open: /console-error}, expect: {console_errors: 1}}
  - {id: bad-uncaught, browser: {open: /throws}}
  - {id: bad-failed-request, browser: {open: /broken-image}, expect: {console_errors: ">= 0"}}
  - {id: bad-status, browser: {open: /nowhere}, expect: {console_errors: ">= 0"}}
  - {id: ok-status-404, browser: {open: /nowhere}, expect: {status: 404, console_errors: ">= 0", failed_requests: 1}}
  - {id: ok-wait, browser: {open: /late, steps: [{wait: .toast}]}, expect: {selectors: {.toast: {text: Saved}}}}
  - {id: bad-wait-timeout, timeout: 2s, browser: {open: /, steps: [{wait: .never}]}}
  - id: ok-form-flow
    steps:
      - browser:
          open: /form
          steps:
            - click: "#reveal"
            - wait: "#panel"
            - fill: {"#email": qa@example.com}
            - submit: form
        expect: {title: Welcome, url: {contains: /signed-in}, selectors: {"#hello": {text: Hello qa@example.com}}}
        save: {greeting: {html: "#hello"}}
      - http: {get: "/?greeting={{ greeting | urlencode }}"}
        expect: {status: 200}
  - {id: ok-mobile, browser: {open: /wide, viewport: mobile}, expect: {title: Wide 412}}
  - {id: ok-desktop, browser: {open: /wide}, expect: {title: Wide 1280}}
  - {id: ok-explicit-size, browser: {open: /wide, viewport: {width: 800, height: 600}}, expect: {title: Wide 800}}
  - id: ok-pwa
    browser: {open: /pwa, steps: [{wait: h1}], offline: true}
    expect:
      manifest: {name: Demo Shop, "length(icons)": ">= 1"}
      offline: {title: PWA, html: {h1: {text: Offline ready}}}
  - {id: bad-offline, browser: {open: /, offline: true}, expect: {offline: {title: Shop}}}
  - {id: bad-no-manifest, browser: {open: /}, expect: {manifest: {name: Shop}}}
  - {id: bad-refused, browser: {open: "http://127.0.0.1:{closed}/"}}
"""


def test_browser_kind(pytester: pytest.Pytester, pages_url: str) -> None:
    found, _ = checked_run(
        pytester,
        CHECKS,
        pages_url,
        23,
        (
            "title: expected 'Basket', got 'Shop'",
            "selectors[#hidden].text: expected 'secret' (visible), got a hidden element ('secret')",
            "selectors[#hidden].visible: expected true, got false",
            "selectors[.cart].visible: expected true, got false",
            "console_errors: expected 0, got 1 (checkout widget failed)",
            "console_errors: expected 0, got 1 (uncaught ReferenceError: undefinedFunction is not defined)",
            "failed_requests: expected 0, got 1 (GET *missing.png: 404)",
            "status: expected < 400, got 404",
            "steps[0] wait .never: expected to be done, got not done within the check's timeout (2s)",
            "offline: expected the page to load with the network off, got net::ERR_INTERNET_DISCONNECTED",
            "manifest: expected a <link rel=manifest> to a JSON manifest, got none",
            "error: http://127.0.0.1:*/: connection refused (nothing answered at that address)",
        ),
        "--junitxml=out.xml",
        "--golive-logs=kept",
    )
    shots = _screenshots(pytester.path / "out.xml")
    assert set(shots) == {name for name, outcome in found.items() if outcome == "failed"} - {"bad-refused"}
    for name, path in shots.items():
        assert path.is_relative_to(pytester.path / "kept"), name
        assert path.read_bytes().startswith(b"\x89PNG"), name
    gated = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "gate", "out.xml", "--checklist", "golive.yaml", "--html", "r.html"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert gated.returncode == 1, gated.stderr  # checks failed: the gate fails
    report = (pytester.path / "r.html").read_text()
    assert report.count("<img src='data:image/png;base64,") == len(shots)
    assert f"bad-title: screenshot {shots['bad-title']}" in report


def test_without_a_browser_the_check_says_how_to_get_one(
    pytester: pytest.Pytester, pages_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOLIVE_BROWSER", str(pytester.path / "no-such-chromium"))
    (pytester.path / "golive.yaml").write_text(
        f"golive: 1\napp: {{base_url: '{pages_url}'}}\nchecks:\n  - {{id: page, browser: {{open: /}}}}\n"
    )
    result = pytester.runpytest_subprocess()  # a process of its own: each process keeps the browser it started
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*cannot start the browser */no-such-chromium: *; install one (apt-get install chromium) or set GOLIVE_BROWSER*"
        ]
    )
    monkeypatch.setenv("GOLIVE_BROWSER", "")
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # python, and no browser
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no Chromium or Chrome found on PATH (chromium, *): install one (apt-get install*"])


def _screenshots(junit: Path) -> dict[str, Path]:
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name", "").endswith("screenshot"):
                found[case.get("name", "")] = Path(prop.get("value", ""))
    return found


def test_html_report_names_a_screenshot_it_cannot_show(tmp_path: Path) -> None:
    from pytest_golive.checklist import GatePolicy  # noqa: PLC0415
    from pytest_golive.formats.junit import CaseResult  # noqa: PLC0415
    from pytest_golive.gate import html as html_report  # noqa: PLC0415
    from pytest_golive.gate.verdict import decide  # noqa: PLC0415

    (tmp_path / "not.png").write_text("<script>")
    cases = [
        CaseResult("x::gone", "gone", "failed", "", {"golive.step2.screenshot": str(tmp_path / "gone.png")}),
        CaseResult("x::text", "text", "failed", "", {"golive.screenshot": str(tmp_path / "not.png")}),
    ]
    page = html_report.render(decide(cases, GatePolicy()), cases)
    assert f"gone: step2.screenshot {tmp_path / 'gone.png'}: not readable (No such file or directory)" in page
    assert f"text: screenshot {tmp_path / 'not.png'}: not a PNG of at most 8 MB" in page
    assert "data:image" not in page


def test_inside_an_asyncio_loop_the_check_fails_in_one_line(tmp_path: Path) -> None:
    """Playwright's sync API refuses to run inside an event loop: one line, no traceback."""
    script = """
import asyncio, time
from pathlib import Path
from pytest_golive.checks import RunSettings, StepContext, StepError
from pytest_golive.checks.browser import BrowserKind

async def main():
    ctx = StepContext(RunSettings(Path("."), "http://127.0.0.1:9", {}, {}), "loop", time.monotonic() + 30, 30, None)
    try:
        BrowserKind().run({"open": "http://127.0.0.1:9/"}, ctx)
    except StepError as exc:
        print("StepError:", exc)

asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.stdout.startswith(
        "StepError: cannot start Playwright: It looks like you are using Playwright Sync API"
    ), done.stdout + done.stderr
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_a_request_the_browser_cancels_on_leaving_is_no_failed_request(
    pytester: pytest.Pytester, pages_url: str
) -> None:
    """Chromium aborts what a page still loads when a click navigates away (net::ERR_ABORTED):
    the server did not fail, so the check does not count it (the shop's search form did
    this to its icon, now and then, on a busy machine)."""
    checks = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - id: ok-left-before-the-image
    browser: {open: /leaves, steps: [{click: "#away"}, {wait: h1}]}
    expect: {title: Shop}
"""
    checked_run(pytester, checks, pages_url, 1, ())
