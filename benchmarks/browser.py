"""The browser kind's cost against raw library calls, in one run.

A page served from 127.0.0.1 (a title, a few elements, a script) is opened again and again:

- anchor: raw Playwright with a browser already started: a fresh context, a page, goto,
  title, close (what the kind must at least do);
- golive: the browser kind's run and judge with its default expectations (status, no console
  error, no failed request), which also read load, LCP and the manifest;
- one page: raw Playwright and raw Selenium (Debian's chromium-driver, when installed), each
  with its browser already started: goto/get and title in one page or window they keep (less
  isolation than a fresh context: cookies, storage and cache carry over).

Then the cold start of each: Playwright's driver and the browser, and a Selenium session. The
rounds interleave the three, so the machine's drift hits them alike; medians are printed, and
ratios against the anchor measured in the same run.

    python benchmarks/browser.py              # 30 rounds
    python benchmarks/browser.py --rounds 100
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_golive.checks.base import RunSettings, StepContext  # noqa: E402
from pytest_golive.checks.browser import BrowserKind, find_browser, shared_browser  # noqa: E402

PAGE = (
    b"<!doctype html><html><head><title>Shop</title><link rel=icon href=data:,></head><body><h1>Products</h1>"
    + b"".join(b"<li class=product>Product %d</li>" % n for n in range(20))
    + b"<script>document.body.dataset.ready = '1'</script></body></html>"
)


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    executable = find_browser()
    if executable is None:
        print("no Chromium: apt-get install chromium", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    kind = BrowserKind()
    settings = RunSettings(ROOT, url, {}, {})

    def golive() -> None:
        ctx = StepContext(settings, "bench", time.monotonic() + 30, 30, url)
        with ctx.resources:
            observation = kind.run({"open": "/"}, ctx)
            assert not kind.judge(kind.default_expect, observation, ctx), observation.result

    cold: dict[str, float] = {}
    started = time.perf_counter()
    _, browser = shared_browser()  # the kind's own: one sync Playwright per thread
    cold["playwright: driver + browser"] = (time.perf_counter() - started) * 1000.0

    def raw_playwright() -> None:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        assert page.title() == "Shop"
        context.close()

    one_page = browser.new_page()

    def raw_playwright_one_page() -> None:
        one_page.goto(url)
        assert one_page.title() == "Shop"

    runs: dict[str, Callable[[], None]] = {
        "anchor: raw Playwright": raw_playwright,
        "golive browser kind": golive,
        "raw Playwright (one page)": raw_playwright_one_page,
    }
    driver = _selenium(executable, cold)
    if driver is not None:

        def raw_selenium() -> None:
            driver.get(url)
            assert driver.title == "Shop"

        runs["raw Selenium (one window)"] = raw_selenium
    try:
        for action in runs.values():
            action()  # warm up: the first page of each pays for starting its renderer
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, action in runs.items():
                times[name].append(timed(action))
    finally:  # a chromedriver not quit outlives this process, with its browser
        if driver is not None:
            driver.quit()
        server.shutdown()
    report(times, cold)
    print(f"\n{args.rounds} rounds, {executable}, page {len(PAGE)} bytes")
    return 0


def report(times: dict[str, list[float]], cold: dict[str, float]) -> None:
    anchor = statistics.median(times["anchor: raw Playwright"])
    print(f"{'per page':<32} {'median ms':>10} {'p90 ms':>8} {'vs anchor':>10}")
    for name, found in times.items():
        median = statistics.median(found)
        p90 = statistics.quantiles(found, n=10)[-1]
        print(f"{name:<32} {median:>10.1f} {p90:>8.1f} {median / anchor:>9.2f}x")
    print(f"\n{'cold start':<32} {'ms':>10}")
    for name, value in cold.items():
        print(f"{name:<32} {value:>10.1f}")


def _selenium(executable: str, cold: dict[str, float]) -> Any:
    """A Selenium session on Debian's chromedriver, or None when either is missing."""
    chromedriver = shutil.which("chromedriver")
    try:
        from selenium import webdriver  # noqa: PLC0415
        from selenium.webdriver.chrome.service import Service  # noqa: PLC0415
    except ImportError:
        print("selenium not installed: its rows are left out", file=sys.stderr)
        return None
    if chromedriver is None:
        print("no chromedriver (apt-get install chromium-driver): Selenium's rows are left out", file=sys.stderr)
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = executable
    for argument in ("--headless=new", "--no-sandbox"):
        options.add_argument(argument)
    started = time.perf_counter()
    with contextlib.suppress(Exception):
        driver = webdriver.Chrome(options=options, service=Service(chromedriver))
        cold["selenium: chromedriver + browser"] = (time.perf_counter() - started) * 1000.0
        return driver
    print("selenium could not start chromedriver: its rows are left out", file=sys.stderr)
    return None


if __name__ == "__main__":
    sys.exit(main())
