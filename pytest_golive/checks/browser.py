"""``browser``: a page of the app in real headless Chromium, driven by Playwright.

Playwright rather than Selenium: it reports what a go-live check asks of a page directly
(the document's HTTP status, every failed request, console messages and uncaught errors, going
offline), waits for elements by itself, and drives the system's Chromium through
``executable_path`` with no matching chromedriver to install (benchmarks/browser.py measures
both). No browser is downloaded: golive uses the machine's Chromium or Chrome."""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..checklist import builtin_kind_schema
from ..checklist.comparisons import describe, describe_observed
from .base import Kind, Mismatch, Observation, StepContext, StepError, compare, compare_max_ms, compare_paths
from .extract import html_mismatches
from .http import absolute_url

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Error,
        Locator,
        Page,
        Playwright,
        Request,
        Response,
    )

_SCHEMA = builtin_kind_schema("browser")
#: where golive looks for a browser, after $GOLIVE_BROWSER: Debian/Ubuntu's chromium, then Chrome
#: (GitHub's ubuntu runners have google-chrome)
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "install one (apt-get install chromium) or set GOLIVE_BROWSER to a Chromium or Chrome executable"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
#: a phone as Playwright describes a Pixel 7 (Chromium-based, so the engine matches the browser)
MOBILE_DEVICE = "Pixel 7"
_SCREENSHOT_MS = 5000.0  # a failed check is pictured even when its timeout has run out
_LISTED = 3  # console errors and failed requests shown in a mismatch
# the Largest Contentful Paint so far, or null when the engine reports none (buffered entries
# arrive in a task of their own, hence the short wait)
_LCP_SCRIPT = """() => new Promise(resolve => {
  if (!PerformanceObserver.supportedEntryTypes.includes('largest-contentful-paint')) { resolve(null); return; }
  new PerformanceObserver(list => { const found = list.getEntries(); resolve(found[found.length - 1].startTime); })
    .observe({type: 'largest-contentful-paint', buffered: true});
  setTimeout(() => resolve(null), 200);
})"""
_LOAD_SCRIPT = """() => { const nav = performance.getEntriesByType('navigation')[0];
  return nav && nav.loadEventEnd > 0 ? nav.loadEventEnd : null; }"""
_MANIFEST_SCRIPT = """async () => { const link = document.querySelector('link[rel=manifest]');
  if (!link) return null;
  const response = await fetch(link.href);
  return response.ok ? await response.json() : null; }"""
# a page that registered a service worker: wait until it is active (its install, which fills its
# cache, is done)
_WORKER_READY_SCRIPT = """async () => { if (!navigator.serviceWorker) return;
  if ((await navigator.serviceWorker.getRegistrations()).length) await navigator.serviceWorker.ready; }"""
_SUBMIT_SCRIPT = """element => { const form = element.form || element.closest('form') || element;
  if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); } }"""


class StepFailed(Exception):
    """One of the spec's steps could not be done on the page (its element never came)."""

    def __init__(self, mismatch: Mismatch) -> None:
        super().__init__(str(mismatch))
        self.mismatch = mismatch


class BrowserKind(Kind):
    """A page of the app in headless Chromium: status, title, elements, console, requests, timing."""

    name = "browser"
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {"status": "< 400", "console_errors": 0, "failed_requests": 0}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        url = absolute_url(spec["open"], ctx.base_url)
        start = time.perf_counter()
        try:
            page = _new_page(ctx, spec.get("viewport", "desktop"))
        except StepError:
            raise
        except Exception as exc:  # Playwright's: e.g. called inside an asyncio loop, or a browser that died
            raise StepError(f"cannot open a page in the browser: {_reason(exc)}") from None
        watched = _Watched(page)
        ctx.shared["browser.page"] = page
        try:
            response = page.goto(url, wait_until="load", timeout=_ms_left(ctx))
        except Exception as exc:  # Playwright's errors: refused connections, timeouts
            raise StepError(f"{url}: {_reason(exc, ctx)}") from None
        problems = []
        try:
            load_ms = page.evaluate(_LOAD_SCRIPT)
            lcp_ms = page.evaluate(_LCP_SCRIPT)
            for index, action in enumerate(spec.get("steps", [])):
                _act(page, action, index, ctx)
            offline = _offline(page, ctx) if spec.get("offline") else None
            manifest = page.evaluate(_MANIFEST_SCRIPT)
        except StepFailed as failed:  # the page did not let a step be done: judged, and pictured
            problems.append(failed.mismatch)
            offline = manifest = None
        body = page.content()
        title = page.title()
        elapsed = (time.perf_counter() - start) * 1000.0
        status = response.status if response is not None else None
        measurements: dict[str, float | int | str] = {"latency_ms": round(elapsed, 3)}
        measurements.update(
            {key: round(value, 1) for key, value in (("load_ms", load_ms), ("lcp_ms", lcp_ms)) if value}
        )
        if status is not None:
            measurements["status"] = status
        return Observation(
            summary=f"browser {url} -> {status} {title!r} in {elapsed:.0f} ms",
            result={
                "status": status,
                "url": page.url,
                "title": title,
                "body": body,
                "console_errors": watched.console_errors,
                "failed_requests": watched.failed_requests,
                "load_ms": load_ms,
                "lcp_ms": lcp_ms,
                "manifest": manifest,
                "offline": offline,
                "elapsed_ms": elapsed,
                "problems": problems,
            },
            measurements=measurements,
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        """Each expectation; on any mismatch, a screenshot of the page kept as evidence."""
        result = observation.result
        page: Page = ctx.shared["browser.page"]
        mismatches: list[Mismatch] = list(result["problems"])
        for key, expected in expect.items():
            if key == "max_ms":
                mismatches += _found(compare_max_ms(result["elapsed_ms"], expected))
            elif key in ("console_errors", "failed_requests"):
                mismatches += _found(_compare_listed(key, result[key], expected))
            elif key == "selectors":
                try:
                    mismatches += _selector_mismatches(page, expected, ctx)
                except Exception as exc:  # the page crashed or closed since it loaded
                    mismatches.append(Mismatch("selectors", "a live page to look at", _reason(exc, ctx)))
            elif key == "html":
                mismatches += html_mismatches(expected, result["body"])
            elif key == "manifest":
                if result["manifest"] is None:
                    mismatches.append(Mismatch("manifest", "a <link rel=manifest> to a JSON manifest", "none"))
                else:
                    mismatches += compare_paths("manifest", result["manifest"], expected)
            elif key == "offline":
                mismatches += _offline_mismatches(expected, result["offline"])
            else:
                mismatches += _found(compare(key, result.get(key), expected))
        if mismatches:
            observation.evidence = _screenshot(page, ctx, observation.measurements)
        return mismatches


def find_browser() -> str | None:
    """The browser executable: $GOLIVE_BROWSER, else the first of BROWSER_NAMES on PATH."""
    explicit = os.environ.get("GOLIVE_BROWSER")
    if explicit:
        return explicit
    return next((found for name in BROWSER_NAMES if (found := shutil.which(name))), None)


def launch(playwright: Playwright) -> Browser:
    """Headless Chromium from the machine; one line saying how to get one when there is none."""
    executable = find_browser()
    if executable is None:
        raise StepError(f"no Chromium or Chrome found on PATH ({', '.join(BROWSER_NAMES)}): {INSTALL_HINT}")
    try:
        return playwright.chromium.launch(executable_path=executable, headless=True)
    except Exception as exc:  # a broken or wrong executable
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StepError(f"cannot start the browser {executable}: {first}; {INSTALL_HINT}") from None


def context_options(playwright: Playwright, viewport: str | Mapping[str, int]) -> dict[str, Any]:
    """What ``new_context`` takes for a viewport preset or an explicit size."""
    if viewport == "mobile":
        device = dict(playwright.devices[MOBILE_DEVICE])
        device.pop("default_browser_type", None)
        return device
    if viewport == "desktop":
        return dict(DESKTOP)
    assert isinstance(viewport, Mapping)
    return {"viewport": {"width": viewport["width"], "height": viewport["height"]}}


def _new_page(ctx: StepContext, viewport: str | Mapping[str, int]) -> Page:
    """A page in a fresh context of the process's browser: nothing (cookies, storage, cache,
    service workers) carries over from another check. The steps of a flow share one context per
    viewport, so cookies and storage carry over as they do for http steps."""
    playwright, browser = shared_browser()
    contexts: dict[str, BrowserContext] = ctx.shared.setdefault("browser.contexts", {})
    key = repr(viewport)
    if key not in contexts:
        contexts[key] = browser.new_context(**context_options(playwright, viewport))
        ctx.resources.callback(contexts[key].close)
    page = contexts[key].new_page()
    page.set_default_timeout(_ms_left(ctx))
    return page


class _SharedBrowser:
    """One headless browser per process, started by its first browser check and closed when the
    process exits: starting one takes longer than most checks (benchmarks/browser.py)."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def browser(self) -> tuple[Playwright, Browser]:
        if self._playwright is None:
            try:
                from playwright.sync_api import sync_playwright  # noqa: PLC0415  (only browser checks need it)
            except ImportError:
                raise StepError("the browser kind needs Playwright: pip install 'pytest-golive[browser]'") from None
            try:
                self._playwright = sync_playwright().start()
            except Exception as exc:  # e.g. inside an asyncio loop, or beside another sync Playwright
                raise StepError(f"cannot start Playwright: {_reason(exc)}") from None
            atexit.register(self.close)
        if self._browser is None or not self._browser.is_connected():
            self._browser = launch(self._playwright)
        return self._playwright, self._browser

    def close(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(Exception):  # already gone with its driver
                self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        self._playwright = self._browser = None


_SHARED = _SharedBrowser()


def shared_browser() -> tuple[Playwright, Browser]:
    """This process's Playwright and headless browser, started on first use."""
    return _SHARED.browser()


class _Watched:
    """Console errors, uncaught exceptions and failed requests of a page, as they happen."""

    def __init__(self, page: Page) -> None:
        self.console_errors: list[str] = []
        self.failed_requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", self._uncaught)
        page.on("requestfailed", self._failed)
        page.on("response", self._answered)

    def _console(self, message: ConsoleMessage) -> None:
        # the browser's own request for /favicon.ico is no error of the page's: pages need not answer it
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.console_errors.append(message.text)

    def _uncaught(self, error: Error) -> None:
        self.console_errors.append(f"uncaught {error.name}: {error.message}")

    def _failed(self, request: Request) -> None:
        if request.failure == "net::ERR_ABORTED":
            return  # the browser cancelled it (the page navigated away): the server did not fail
        self.failed_requests.append(f"{request.method} {request.url}: {request.failure or 'failed'}")

    def _answered(self, response: Response) -> None:
        if response.status >= 400:
            self.failed_requests.append(f"{response.request.method} {response.url}: {response.status}")


def _act(page: Page, action: Mapping[str, Any], index: int, ctx: StepContext) -> None:
    """One of the spec's steps; an element that never comes fails the step (StepFailed) naming it."""
    verb, target = next(iter(action.items()))
    where = f"steps[{index}] {verb}"
    try:
        if verb == "click":
            page.locator(target).first.click(timeout=_ms_left(ctx))
        elif verb == "fill":
            for selector, value in target.items():
                page.locator(selector).first.fill(str(value), timeout=_ms_left(ctx))
        elif verb == "submit":
            element = page.locator(target).first
            element.wait_for(state="attached", timeout=_ms_left(ctx))
            with page.expect_navigation(wait_until="load", timeout=_ms_left(ctx)):
                element.evaluate(_SUBMIT_SCRIPT)
        else:
            page.locator(target).first.wait_for(state="visible", timeout=_ms_left(ctx))
    except Exception as exc:
        described = ", ".join(target) if isinstance(target, Mapping) else target
        raise StepFailed(Mismatch(f"{where} {described}", "to be done", _reason(exc, ctx))) from None


def _offline(page: Page, ctx: StepContext) -> dict[str, Any]:
    """The page loaded again with the network off: what a service worker's cache still serves."""
    page.evaluate(_WORKER_READY_SCRIPT)
    page.context.set_offline(True)
    try:
        again = page.context.new_page()
        again.set_default_timeout(_ms_left(ctx))
        try:
            again.goto(page.url, wait_until="load", timeout=_ms_left(ctx))
        except Exception as exc:
            return {"loaded": False, "error": _reason(exc, ctx), "title": None, "body": ""}
        return {"loaded": True, "error": None, "title": again.title(), "body": again.content()}
    finally:
        page.context.set_offline(False)


def _offline_mismatches(expected: Mapping[str, Any], offline: Mapping[str, Any] | None) -> list[Mismatch]:
    if offline is None:
        return [Mismatch("offline", "the page loaded again offline (offline: true in the spec)", "not tried")]
    if not offline["loaded"]:
        return [Mismatch("offline", "the page to load with the network off", offline["error"])]
    found = _found(compare("offline.title", offline["title"], expected["title"])) if "title" in expected else []
    html = html_mismatches(expected.get("html", {}), offline["body"])
    return found + [Mismatch(f"offline.{m.what}", m.expected, m.actual) for m in html]


def _selector_mismatches(page: Page, expected: Mapping[str, Mapping[str, Any]], ctx: StepContext) -> list[Mismatch]:
    """``{SELECTOR: {visible, text, count}}`` on the live page."""
    mismatches: list[Mismatch] = []
    for selector, wanted in expected.items():
        matches = page.locator(selector)
        first = matches.first
        if "count" in wanted:
            mismatches += _found(compare(f"selectors[{selector}].count", matches.count(), wanted["count"]))
        if "visible" in wanted:
            visible = first.is_visible() if matches.count() else False
            mismatches += _found(compare(f"selectors[{selector}].visible", visible, wanted["visible"]))
        if "text" in wanted:
            mismatches += _found(_text_mismatch(selector, matches, wanted, ctx))
    return mismatches


#: how many matches of a selector are looked through for a visible one
_VISIBLE_SEARCH = 50


def _text_mismatch(selector: str, matches: Locator, wanted: Mapping[str, Any], ctx: StepContext) -> Mismatch | None:
    """The text of the first visible match compared (of the first match under ``visible:
    false``). Text is what a user reads, so a hidden element's text (``display: none``,
    ``hidden``: a template's message, a collapsed panel) meets no ``text`` expectation:
    ``{text: Order placed}`` passed on a page whose success message was still hidden. A hidden
    copy before a shown one (a responsive page's mobile menu) is passed over."""
    what = f"selectors[{selector}].text"
    count = matches.count()
    if not count:
        return compare(what, None, wanted["text"])
    shown = next(
        (index for index in range(min(count, _VISIBLE_SEARCH)) if matches.nth(index).is_visible()),
        None,
    )
    if wanted.get("visible") is False or shown is not None:
        element = matches.nth(0 if wanted.get("visible") is False else shown or 0)
        return compare(what, " ".join(element.inner_text(timeout=_ms_left(ctx)).split()), wanted["text"])
    text = " ".join(matches.first.inner_text(timeout=_ms_left(ctx)).split())
    mismatch = compare(what, text, wanted["text"])
    expected = mismatch.expected if mismatch else describe(wanted["text"])
    return Mismatch(what, f"{expected} (visible)", f"a hidden element ({describe_observed(text)})")


def _compare_listed(key: str, found: list[str], expected: Any) -> Mismatch | None:
    """A count compared, with the first few of what was counted shown."""
    mismatch = compare(key, len(found), expected)
    if mismatch is None or not found:
        return mismatch
    shown = "; ".join(found[:_LISTED]) + (f"; and {len(found) - _LISTED} more" if len(found) > _LISTED else "")
    return Mismatch(key, mismatch.expected, f"{len(found)} ({shown})")


def _screenshot(page: Page, ctx: StepContext, measurements: dict[str, float | int | str]) -> str | None:
    """The page pictured into the run's evidence folder: its path becomes the ``screenshot``
    measurement (a JUnit property, which the gate's HTML report shows) and the evidence line."""
    folder = ctx.run.evidence_dir
    if folder is None:
        return None
    try:
        shot = page.screenshot(full_page=True, timeout=_SCREENSHOT_MS)
    except Exception:
        return None  # a page that cannot be pictured any more (crashed, closed)
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f"{ctx.check_id}-", suffix=".png", dir=folder)
    with os.fdopen(handle, "wb") as out:
        out.write(shot)
    measurements["screenshot"] = name
    return f"screenshot: {name}"


def _ms_left(ctx: StepContext) -> float:
    """The check's time left in milliseconds, as Playwright takes timeouts."""
    return ctx.remaining() * 1000.0


def _reason(exc: Exception, ctx: StepContext | None = None) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if ctx is not None and ("Timeout" in type(exc).__name__ or "Timeout" in first):
        return f"not done within the check's timeout ({ctx.timeout_s:g}s)"
    if "ERR_CONNECTION_REFUSED" in first:
        return "connection refused (nothing answered at that address)"
    return re.sub(r"^(Error: |\w+\.\w+: )", "", first)  # Playwright's "Page.goto: " before the browser's words


def _found(mismatch: Mismatch | None) -> list[Mismatch]:
    return [mismatch] if mismatch else []
