"""Each built-in kind's pass and fail paths, against a real HTTP server and real processes.

Every check id says the outcome it must have: ``ok-*`` passes, ``bad-*`` fails.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest


def outcomes(pytester: pytest.Pytester, *args: str) -> tuple[dict[str, str], str]:
    result = pytester.runpytest("-p", "no:cacheprovider", "-rf", *args)
    outcome: dict[str, str] = {}
    for line in result.stdout.lines:
        for word in ("PASSED", "FAILED"):
            if line.startswith("golive.yaml::") and f" {word}" in line:
                outcome[line.split("::", 1)[1].split(" ")[0]] = word.lower()
    return outcome, result.stdout.str()


def measured_ms(output: str, prefix: str) -> float:
    """The number a report gives after ``prefix``: latencies are bounded below, never compared exactly."""
    return float(output.split(prefix, 1)[1].split(maxsplit=1)[0])


def assert_ids_match_outcomes(found: dict[str, str]) -> None:
    assert found, "no check ran"
    wrong = {
        name: result for name, result in found.items() if result != ("passed" if name.startswith("ok-") else "failed")
    }
    assert not wrong


HTTP = """\
golive: 1
app: {base_url: "{url}"}
vars: {page: 2}
checks:
  - {id: ok-status, http: {get: /health}, expect: {status: 200}}
  - {id: ok-default-status, http: {get: /health}}
  - {id: bad-default-status, http: {get: /status/503}}
  - {id: ok-json, http: {get: "/products?page={{ vars.page }}"}, expect: {json: {page: 2, "items[0].sku": A6, "length(items)": "<= 5"}}}
  - {id: bad-json, http: {get: /products}, expect: {json: {"items[0].price": "> 500"}}}
  - {id: ok-headers, http: {get: /products}, expect: {headers: {cache-control: {match: "max-age=\\\\d+"}}}}
  - {id: bad-headers, http: {get: /products}, expect: {headers: {X-Missing: present}}}
  - {id: ok-body, http: {get: /text}, expect: {body: {contains: demo shop}}}
  - {id: bad-body, http: {get: /text}, expect: {body: {match: "^goodbye"}}}
  - {id: bad-json-on-text, http: {get: /text}, expect: {json: {a: 1}}}
  - {id: bad-json-type-error, http: {get: /products}, expect: {json: {"length(missing)": ">= 1"}}}
  - id: ok-schema
    http: {get: /health}
    expect: {schema: {type: object, required: [status], properties: {status: {enum: [ok]}}}}
  - id: bad-schema
    http: {get: /health}
    expect: {schema: {type: object, required: [version]}}
  - {id: ok-schema-file, http: {get: /products}, expect: {schema: products.schema.json}}
  - {id: ok-latency, http: {get: /health}, expect: {max_ms: 2000}}
  - {id: bad-latency, http: {get: "/slow?ms=300"}, expect: {max_ms: 50}}
  - {id: bad-timeout, timeout: 300ms, http: {get: "/slow?ms=3000"}}
  - {id: bad-refused, http: {get: "http://127.0.0.1:{closed}/health"}}
  - id: ok-post-json
    http: {post: /cart, json: {sku: A1, qty: 2}}
    expect: {status: 201, json: {"items[0].qty": 2, id: {match: "^c\\\\d+$"}}}
  - id: ok-headers-sent
    http: {get: /echo-headers, headers: {X-Release: "v{{ 1 + 1 }}"}, query: {a: 1}}
    expect: {json: {'"x-release"': v2}}
  - {id: ok-status-one-of, http: {get: /status/503}, expect: {status: {one_of: [200, 503]}}}
"""


def checked_run(
    pytester: pytest.Pytester, checks: str, url: str, count: int, messages: tuple[str, ...], *args: str
) -> tuple[dict[str, str], str]:
    """Run ``checks`` (``{url}`` the server's address, ``{closed}`` a port nothing listens on):
    ``count`` checks, each with the outcome its id says, and every message in the output (``*``
    ends the part compared: a port or path follows)."""
    text = checks.replace("{url}", url).replace("{closed}", str(closed_port()))
    (pytester.path / "golive.yaml").write_text(text, encoding="utf-8")
    found, output = outcomes(pytester, "-v", *args)
    assert len(found) == count, output
    assert_ids_match_outcomes(found)
    for expected in messages:
        assert expected.split("*")[0] in output, expected
    assert "Traceback" not in output
    return found, output


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_kind(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(HTTP.replace("{closed}", str(closed_port())))
    (pytester.path / "products.schema.json").write_text('{"type": "object", "required": ["items", "page"]}')
    found, output = outcomes(pytester, "-v")
    assert len(found) == 21
    assert_ids_match_outcomes(found)
    assert "Traceback" not in output
    assert "JMESPathTypeError" not in output
    assert measured_ms(output, "max_ms: expected <= 50 ms, got ") >= 300  # the server slept 300 ms
    for expected in (
        "status: expected < 400, got 503",
        "json.items[0].price: expected > 500, got 101",
        "headers.X-Missing: expected 'present', got no such header",
        "body: expected matching /^goodbye/, got 'hello from the demo shop\\n'",
        "json: expected a JSON body, got text/plain; charset=utf-8 body",
        "json.length(missing): expected a value, got an error: In function length(), invalid type for value: None",
        "schema: expected a body matching the JSON Schema, got at (root): 'version' is a required property",
        "error: GET http://127.0.0.1:*/slow?ms=3000: no answer within 0.3s",
        "error: GET http://127.0.0.1:*/health: connection failed (nothing answered at that address)",
    ):
        assert expected.split("*")[0] in output, expected


def test_relative_url_needs_a_base_url(
    pytester: pytest.Pytester, checklist: Callable[..., Path], shop_url: str
) -> None:
    checklist("golive: 1\nchecks:\n  - {id: rel, http: {get: /health}}\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*relative URL '/health' needs app.base_url in the checklist or --golive-base-url*"])
    pytester.runpytest("--golive-base-url", shop_url).assert_outcomes(passed=1)


COMMAND = """\
golive: 1
checks:
  - {id: ok-exit, command: "exit 0"}
  - {id: bad-exit, command: "echo boom >&2; exit 3"}
  - {id: ok-exit-expected, command: "exit 3", expect: {exit: 3}}
  - {id: ok-argv, command: [python3, -c, "print('a b')"], expect: {stdout: "a b\\n"}}
  - {id: ok-stdout, command: "echo version 1.4.2", expect: {stdout: {match: "version 1\\\\.\\\\d+"}}}
  - {id: bad-stdout, command: "echo 0 critical; echo 2 high", expect: {stdout: {contains: "0 high"}}}
  - {id: ok-stderr, command: "echo warn >&2", expect: {stderr: {contains: warn}}}
  - {id: ok-options, command: {run: "cat; echo $GOLIVE_X; pwd", cwd: sub, env: {GOLIVE_X: "x1"}, stdin: "in\\n"},
     expect: {stdout: {match: "^in\\nx1\\n.*/sub\\n$"}}}
  - {id: bad-not-found, command: [no-such-program-golive]}
  # "the scanner fails on the vulnerable fixture": a scanner that is not there fails nothing
  - {id: bad-shell-not-found, command: "no-such-program-golive --scan", expect: {exit: "!= 0"}}
  - {id: bad-not-executable, command: "./sub", expect: {exit: {one_of: [1, 126, 127]}}}
  - {id: ok-not-found-said, command: "no-such-program-golive", expect: {exit: 127}}
  - {id: bad-killed, command: "kill -9 $$", expect: {exit: "!= 0"}}    # the OOM killer's way
  - {id: bad-timeout, timeout: 300ms, command: "sleep 30"}
  - {id: bad-slow, command: "sleep 0.2", expect: {max_ms: 10}}
  - {id: ok-bytes-out, command: "printf 'ok \\\\377\\\\376 latin1: caf\\\\351'", expect: {stdout: {contains: "ok "}}}
  - {id: bad-bytes-out, command: "printf '\\\\377\\\\376'; exit 1"}
"""


def test_command_kind(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(COMMAND)
    (pytester.path / "sub").mkdir()
    found, output = outcomes(pytester, "-v")
    assert len(found) == 17  # output that is not UTF-8 (binary, Latin-1) is shown, not a crash
    assert_ids_match_outcomes(found)
    assert "UnicodeDecodeError" not in output
    assert measured_ms(output, "max_ms: expected <= 10 ms, got ") >= 200  # the command slept 0.2 s
    for expected in (
        "exit: expected 0, got 3",
        "      boom",
        "stdout: expected containing '0 high', got '0 critical\\n2 high\\n'",
        "error: command not found: no-such-program-golive",
        "exit: expected != 0 from the command, got 127: it did not run (",
        "no-such-program-golive: not found')",
        "exit: expected one of 1, 126, 127 from the command, got 126: it did not run (",
        "exit: expected != 0 from the command, got -9: killed by SIGKILL before it finished",
        "error: 'sleep 30' still running after 0.3s; stopped it",
    ):
        assert expected in output, expected


def test_command_timeout_leaves_no_process(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    marker = "golive-leak-probe-4711"
    checklist(f"golive: 1\nchecks:\n  - {{id: t, timeout: 300ms, command: 'sleep 30 && echo {marker}; sleep 31'}}\n")
    pytester.runpytest().assert_outcomes(failed=1)
    leftovers = [p for p in Path("/proc").glob("[0-9]*") if marker in _cmdline(p)]
    assert leftovers == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


FILES = """\
golive: 1
checks:
  - {id: ok-exists, file: docs/runbook.md}
  - {id: bad-exists, file: docs/missing.md}
  - {id: ok-absent, file: docs/missing.md, expect: {exists: false}}
  - {id: ok-content, file: docs/runbook.md, expect: {content: {contains: [Rollback, On-call]}}}
  - {id: bad-content, file: docs/runbook.md, expect: {content: {match: "RTO: \\\\d+ min"}}}
  - {id: bad-content-missing, file: docs/missing.md, expect: {content: {contains: x}}}
  - {id: bad-placeholder, file: docs/oncall.md}                   # made with touch, or blank lines only
  - {id: ok-empty-said, file: docs/oncall.md, expect: {empty: true}}
"""


def test_file_kind(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(FILES)
    (pytester.path / "docs").mkdir()
    (pytester.path / "docs" / "runbook.md").write_text("# Rollback\nOn-call: team-a\n")
    (pytester.path / "docs" / "oncall.md").write_text("\n  \n")
    found, output = outcomes(pytester, "-v")
    assert len(found) == 8
    assert "empty: expected false, got true" in output
    assert_ids_match_outcomes(found)
    assert "exists: expected true, got false" in output
    assert "content: expected a readable file, got no such file" in output


ENV = """\
golive: 1
checks:
  - {id: ok-set, env: [GOLIVE_T_URL, GOLIVE_T_API_TOKEN]}
  - {id: bad-missing, env: [GOLIVE_T_URL, GOLIVE_T_UNSET]}
  - {id: bad-placeholder, env: [GOLIVE_T_PLACEHOLDER]}
  - {id: bad-dev-key, env: [GOLIVE_T_SECRET_KEY]}               # Django's startproject key
  - {id: bad-empty, env: [GOLIVE_T_EMPTY]}
  - {id: ok-rule, env: {GOLIVE_T_URL: {match: "^postgres://"}}}
  - {id: bad-rule, env: {GOLIVE_T_API_TOKEN: {match: "^ghp_"}}}
"""


def test_env_kind_never_shows_values(
    pytester: pytest.Pytester, checklist: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOLIVE_T_URL", "postgres://db.internal/shop")
    monkeypatch.setenv("GOLIVE_T_API_TOKEN", "tok-9f8e7d6c5b4a")
    monkeypatch.setenv("GOLIVE_T_PLACEHOLDER", "changeme")
    monkeypatch.setenv("GOLIVE_T_EMPTY", "")
    monkeypatch.setenv("GOLIVE_T_SECRET_KEY", "django-insecure-k3#9x!q0v^p2m$7w@r5t&z8b1n4c6j")
    monkeypatch.delenv("GOLIVE_T_UNSET", raising=False)
    checklist(ENV)
    found, output = outcomes(pytester, "-v", "--junitxml=out.xml")
    assert len(found) == 7
    assert_ids_match_outcomes(found)
    assert "GOLIVE_T_UNSET: expected set, got not set" in output
    assert "GOLIVE_T_PLACEHOLDER: expected a real value, got a placeholder or empty value (not shown)" in output
    assert "GOLIVE_T_API_TOKEN: expected matching /^ghp_/, got a value of 16 characters (not shown)" in output
    for secret in ("tok-9f8e7d6c5b4a", "changeme"):
        assert secret not in output
        assert secret not in (pytester.path / "out.xml").read_text()


def test_tcp_kind(pytester: pytest.Pytester, checklist: Callable[..., Path], shop_url: str) -> None:
    port = shop_url.rsplit(":", 1)[1]
    closed = closed_port()
    checklist(
        f"""\
        golive: 1
        checks:
          - {{id: ok-open, tcp: "127.0.0.1:{port}", expect: {{max_ms: 2000}}}}
          - {{id: ok-mapping, tcp: {{host: 127.0.0.1, port: {port}}}}}
          - {{id: bad-closed, tcp: "127.0.0.1:{closed}"}}
          - {{id: ok-closed, tcp: "127.0.0.1:{closed}", expect: {{open: false}}}}
          - {{id: bad-port-range, tcp: "127.0.0.1:70000"}}
          # "the database is not reachable from outside", its name misspelt: no port was tried
          - {{id: bad-unresolvable, tcp: "db.golive-test.invalid:5432", expect: {{open: false}}}}
        """
    )
    found, output = outcomes(pytester, "-v")
    assert len(found) == 6
    assert "error: cannot resolve 'db.golive-test.invalid': " in output
    assert_ids_match_outcomes(found)
    assert "open: expected true, got false" in output
    assert "error: port 70000 is out of range 1-65535" in output
