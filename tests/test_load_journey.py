"""Stateful load against a real HTTP server that records what reached it: a setup flow's
token in every request, each virtual user's own saved cart id in its next step, per-request
values, data file rows, and thresholds per journey step. No timing assertions: thresholds
are set far from what the server does, so each check passes or fails for its own reason."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from local_http import QuietHandler, served

from pytest_golive.checklist import ChecklistError, load_checklist
from pytest_golive.checklist.template_values import choice
from pytest_golive.checks.registry import load_kind_schemas


@dataclass
class Shop:
    """What the server saw: tokens it issued, carts by owner, and every request."""

    url: str = ""
    tokens: set[str] = field(default_factory=set)
    owners: dict[int, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    seen: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def requests_to(self, method: str, prefix: str) -> list[tuple[str, dict[str, str], Any]]:
        with self.lock:
            return [
                (path, headers, body) for m, path, headers, body in self.seen if m == method and path.startswith(prefix)
            ]


def _handler(shop: Shop) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            self._record("GET", None)
            if url.path == "/whoami":  # a session cookie's owner must be the user asking
                session = SimpleCookie(self.headers.get("Cookie", "")).get("sid")
                owner = shop.sessions.get(session.value) if session else None
                mine = owner is not None and owner == parse_qs(url.query)["user"][0]
                return self._answer(200 if mine else 401, {"owner": owner})
            if url.path == "/slow":
                time.sleep(int(parse_qs(url.query)["ms"][0]) / 1000)
            self._answer(200, {"items": [{"sku": "A1"}, {"sku": "A2"}]})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            kind = self.headers.get("Content-Type", "")
            body: Any = parse_qs(raw) if "form" in kind else json.loads(raw) if raw else None
            self._record("POST", body)
            parts = urlsplit(self.path).path.strip("/").split("/")
            if parts == ["login"]:
                token = f"tok-{next(shop.ids)}"
                with shop.lock:
                    shop.tokens.add(token)
                return self._answer(200, {"token": token, "user": body["username"][0]})
            if parts == ["session"]:  # a login that answers with a session cookie
                session = f"s-{next(shop.ids)}"
                with shop.lock:
                    shop.sessions[session] = body["user"]
                return self._answer(200, {"ok": True}, {"Set-Cookie": f"sid={session}; Path=/; HttpOnly"})
            if parts[0] == "echo":
                return self._answer(200, {"echo": body})
            if self.headers.get("Authorization", "").removeprefix("Bearer ") not in shop.tokens:
                return self._answer(401, {"error": "no token"})
            if parts == ["carts"]:
                cart = next(shop.ids)
                with shop.lock:
                    shop.owners[cart] = body["user"]
                return self._answer(201, {"id": cart})
            if len(parts) == 3 and parts[0] == "carts":  # /carts/ID/items or /carts/ID/checkout
                owner = shop.owners.get(int(parts[1]))
                mine = body is not None and owner == body.get("user")
                return self._answer(201 if mine else 409, {"owner": owner})
            return self._answer(404, {"error": "no such route"})

        def _record(self, method: str, body: Any) -> None:
            with shop.lock:
                shop.seen.append((method, self.path, dict(self.headers), body))

        def _answer(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self.reply(status, json.dumps(payload), "application/json", headers)

    return Handler


@pytest.fixture
def shop() -> Iterator[Shop]:
    """A real HTTP server on 127.0.0.1 of this test's own, which records every request."""
    found = Shop()
    with served(_handler(found)) as url:
        found.url = url
        yield found


def _write(pytester: pytest.Pytester, shop: Shop, checks: str) -> None:
    text = f'golive: 1\napp: {{base_url: "{shop.url}"}}\nchecks:\n' + textwrap.indent(textwrap.dedent(checks), "  ")
    (pytester.path / "golive.yaml").write_text(text, encoding="utf-8")


def _run(pytester: pytest.Pytester) -> tuple[dict[str, str], str, str]:
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--junitxml=out.xml")
    outcome = {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED ", "ERROR "))
    }
    return outcome, result.stdout.str(), (pytester.path / "out.xml").read_text()


JOURNEY = """\
- id: journey
  timeout: 1m
  load:
    setup:
      - http: {post: /login, form: {username: qa, password: secret}}
        expect: {status: 200}
        save: {token: json.token}
    headers: {Authorization: "Bearer {{ token }}"}
    MODEL
    duration: 1s
    min_samples: 10
    journey:
      - name: browse
        get: /products
        save: {sku: "json.items[0].sku"}
      - name: cart
        post: /carts
        json: {user: "vu-{{ vu }}-{{ iteration }}"}
        save: {cart: json.id}
      - name: checkout
        post: "/carts/{{ cart }}/checkout"
        json: {user: "vu-{{ vu }}-{{ iteration }}", sku: "{{ sku }}"}
  expect:
    error_rate: 0
    steps:
      cart: {p95_ms: 5000, error_rate: 0}
      checkout: {error_rate: 0}
"""


def test_each_virtual_user_sends_its_own_saved_cart_id(pytester: pytest.Pytester, shop: Shop) -> None:
    _write(pytester, shop, JOURNEY.replace("MODEL", "concurrency: 4"))
    outcome, output, xml = _run(pytester)
    assert outcome == {"journey": "PASSED"}, output
    checkouts = shop.requests_to("POST", "/carts/")
    carts = [request for request in shop.requests_to("POST", "/carts") if request[0] == "/carts"]
    assert len(checkouts) >= 10
    for path, _, body in checkouts:  # the server's own record: the cart belongs to the user who checks out
        assert shop.owners[int(path.split("/")[2])] == body["user"]
        assert body["sku"] == "A1"  # saved from the browse step of the same journey
    users = {body["user"] for _, _, body in carts}
    assert {user.split("-")[1] for user in users} == {"0", "1", "2", "3"}  # four virtual users
    assert len(users) == len(carts)  # each journey of a user is a new iteration
    assert len(shop.tokens) == 1  # setup ran once, before the load
    (token,) = shop.tokens
    assert {headers["Authorization"] for _, headers, _ in carts + checkouts} == {f"Bearer {token}"}
    assert '<property name="golive.journey.checkout.samples"' in xml
    assert '<property name="golive.journey.cart.p95_ms"' in xml
    assert token not in output + xml
    gate = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "gate", "--html", "report.html", "out.xml"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert gate.returncode == 0, gate.stdout + gate.stderr
    html = (pytester.path / "report.html").read_text()
    assert "journey.checkout.p95_ms" in html  # each step's figures, with the check's others
    assert token not in html


def test_in_the_open_model_each_arrival_starts_a_journey(pytester: pytest.Pytester, shop: Shop) -> None:
    _write(pytester, shop, JOURNEY.replace("MODEL", "rate: 20/s\n    generators: 2"))  # two processes share it
    outcome, output, xml = _run(pytester)
    assert outcome == {"journey": "PASSED"}, output
    carts = [request for request in shop.requests_to("POST", "/carts") if request[0] == "/carts"]
    browses = shop.requests_to("GET", "/products")
    assert len(browses) == len(shop.requests_to("POST", "/carts/")) == 20  # 20/s for 1 s, one journey each
    assert sorted(int(body["user"].split("-")[1]) for _, _, body in carts) == list(range(20))
    assert '<property name="golive.journeys_completed" value="20" />' in xml


@pytest.mark.parametrize("model", ["rate: 20/s", "concurrency: 3"])
def test_each_journey_keeps_its_own_cookies(pytester: pytest.Pytester, shop: Shop, model: str) -> None:
    _write(
        pytester,
        shop,
        f"""\
        - id: session-journey
          timeout: 1m
          load:
            {model}
            duration: 1s
            min_samples: 10
            journey:
              - {{name: login, post: /session, json: {{user: "vu-{{{{ vu }}}}-{{{{ iteration }}}}"}}}}
              - {{name: me, get: "/whoami?user=vu-{{{{ vu }}}}-{{{{ iteration }}}}"}}
          expect: {{error_rate: 0}}
        """,
    )
    outcome, output, _ = _run(pytester)
    assert outcome == {"session-journey": "PASSED"}, output  # every /whoami came with its own login's cookie
    logins = shop.requests_to("POST", "/session")
    assert len(logins) >= 10
    assert all("Cookie" not in headers for _, headers, _ in logins)  # a new journey starts with no cookie
    assert len(shop.requests_to("GET", "/whoami")) >= 10


def test_thresholds_per_step_fail_the_step_that_broke_them(pytester: pytest.Pytester, shop: Shop) -> None:
    _write(
        pytester,
        shop,
        """\
        - id: slow-step
          timeout: 1m
          load:
            concurrency: 2
            duration: 1s
            min_samples: 4
            journey:
              - {name: fast, get: /products}
              - {name: slow, get: "/slow?ms=120"}
          expect:
            steps:
              fast: {p95_ms: 100000}
              slow: {p95_ms: 60, p50_ms: 100000}
        """,
    )
    outcome, output, _ = _run(pytester)
    assert outcome == {"slow-step": "FAILED"}, output
    assert "steps.slow.p95_ms: expected <= 60, got " in output
    assert "steps.fast" not in output
    assert "steps.slow.p50_ms" not in output


def test_a_step_that_failed_ends_its_journey_and_says_why(pytester: pytest.Pytester, shop: Shop) -> None:
    _write(
        pytester,
        shop,
        """\
        - id: no-token
          timeout: 1m
          load:
            rate: 10/s
            duration: 1s
            min_samples: 5
            journey:
              - {name: browse, get: /products}
              - {name: cart, post: /carts, json: {user: nobody}, save: {cart: json.id}}
              - {name: checkout, post: "/carts/{{ cart }}/checkout", json: {user: nobody}}
          expect:
            steps:
              browse: {error_rate: 0}
              checkout: {p95_ms: 100000}
        """,
    )
    outcome, output, _ = _run(pytester)
    assert outcome == {"no-token": "FAILED"}, output
    assert "steps.checkout.samples: expected >= 2 (not enough data to judge), got 0" in output
    assert "cart: status 401" in output
    assert "steps.browse" not in output
    assert not shop.requests_to("POST", "/carts/")  # no checkout was sent without a cart


def test_per_request_values_and_data_file_rows(pytester: pytest.Pytester, shop: Shop) -> None:
    (pytester.path / "users.csv").write_text(
        "email,plan\nann@example.com,gold\nbob@example.com,free\ncy@example.com,gold\n"
    )
    _write(
        pytester,
        shop,
        """\
        - id: values
          timeout: 1m
          load:
            post: /echo
            json: {email: "{{ row.email }}", plan: "{{ row.plan }}", nonce: "{{ uuid() }}", n: "{{ iteration }}",
                   size: "{{ choice(['S', 'M', 'L']) }}", at: "{{ vars.site }}"}
            data: users.csv
            rate: 30/s
            duration: 1s
            min_samples: 30
          expect: {error_rate: 0}
        """,
    )
    text = (pytester.path / "golive.yaml").read_text()
    (pytester.path / "golive.yaml").write_text(text.replace("checks:", "vars: {site: eu}\nchecks:"))
    outcome, output, _ = _run(pytester)
    assert outcome == {"values": "PASSED"}, output
    bodies = [body for _, _, body in shop.requests_to("POST", "/echo")]
    assert len(bodies) == 30
    assert len({body["nonce"] for body in bodies}) == 30  # a new uuid() per request
    assert {body["size"] for body in bodies} <= {"S", "M", "L"}
    assert {body["at"] for body in bodies} == {"eu"}
    by_email = {body["email"]: body["plan"] for body in bodies}
    assert by_email == {"ann@example.com": "gold", "bob@example.com": "free", "cy@example.com": "gold"}


def test_json_data_rows_go_round_robin(pytester: pytest.Pytester, shop: Shop) -> None:
    (pytester.path / "skus.json").write_text('["A1", "B2"]')
    _write(
        pytester,
        shop,
        """\
        - id: rows
          timeout: 1m
          load: {post: /echo, json: {sku: "{{ row }}"}, data: skus.json, concurrency: 1, duration: 1s, min_samples: 2}
        """,
    )
    outcome, output, _ = _run(pytester)
    assert outcome == {"rows": "PASSED"}, output
    skus = [body["sku"] for _, _, body in shop.requests_to("POST", "/echo")]
    assert skus[:4] == ["A1", "B2", "A1", "B2"]  # one user: its n-th request takes row n


def test_a_failing_setup_stops_the_load_before_it_starts(pytester: pytest.Pytester, shop: Shop) -> None:
    _write(
        pytester,
        shop,
        """\
        - id: setup-fails
          timeout: 1m
          load:
            setup:
              - http: {post: /carts, json: {user: x}}
                expect: {status: 201}
            get: /products
            rate: 10/s
            duration: 1s
        """,
    )
    outcome, output, _ = _run(pytester)
    assert outcome == {"setup-fails": "FAILED"}, output
    assert "setup failed, so the load did not start: http: status: expected 201, got 401" in output
    assert not shop.requests_to("GET", "/products")


def _problem(tmp_path: Path, checks: str, files: dict[str, str] | None = None) -> str:
    for name, content in (files or {}).items():
        (tmp_path / name).write_text(content)
    path = tmp_path / "golive.yaml"
    path.write_text(
        "golive: 1\napp: {base_url: 'http://127.0.0.1:1'}\nchecks:\n" + textwrap.indent(textwrap.dedent(checks), "  ")
    )
    with pytest.raises(ChecklistError) as caught:
        load_checklist(path, load_kind_schemas())
    (problem,) = caught.value.problems
    return str(problem).split("golive.yaml:", 1)[1]


LOAD_HEAD = """\
- id: j
  load:
    rate: 5/s
    duration: 1s
"""


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            LOAD_HEAD + "    journey: [{name: a, get: /}]\n  expect: {steps: {b: {p95_ms: 5}}}\n",
            "9:22: checks[0].expect.steps.b: no journey step named 'b' (its steps: a)",
        ),
        (
            LOAD_HEAD + "    journey: [{name: a, get: /}, {name: a, get: /x}]\n",
            "8:43: checks[0].load.journey[1].name: a second journey step named 'a'",
        ),
        (
            LOAD_HEAD + "    get: /\n  expect: {steps: {a: {p95_ms: 5}}}\n",
            "9:22: checks[0].expect.steps.a: no journey step named 'a' (its steps: none: the load has no journey)",
        ),
        (LOAD_HEAD + "    get: /\n    data: rows.csv\n", "9:13: checks[0].load.data: data file 'rows.csv' not found"),
        (
            LOAD_HEAD + "    get: /\n    setup: [{http: {get: '/{{ vu }}'}}]\n",
            "9:28: checks[0].load.setup[0].http.get: undefined name 'vu' in template",
        ),
        (LOAD_HEAD + "    get: '/{{ vux }}'\n", "8:12: checks[0].load.get: undefined name 'vux' in template"),
    ],
)
def test_misuse_is_one_located_line(tmp_path: Path, written: str, expected: str) -> None:
    assert _problem(tmp_path, written).startswith(expected)


@pytest.mark.parametrize("written", [[], "AB", {"a": 1}, 3])
def test_choice_takes_a_list_of_one_or_more_items(written: object) -> None:
    with pytest.raises(ValueError, match="choice"):
        choice(written)
    assert choice(["only"]) == "only"
