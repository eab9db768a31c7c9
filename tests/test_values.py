"""Template values (uuid, run id, counters, random strings, time, encoding filters) in real
requests to the demo shop, and counters unique across the xdist workers of one run."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from test_kinds import assert_ids_match_outcomes, outcomes

VALUES = """\
golive: 1
app: {base_url: "{url}"}
vars: {day: "{{ now('%Y-%m-%d') }}", tag: "t-{{ random_string(6) }}"}
checks:
  - id: ok-values
    http:
      get: /echo-headers
      headers:
        X-Uuid: "{{ uuid() }}"
        X-Uuid-Again: "{{ uuid() }}"
        X-Random: "{{ random_string(12) }}"
        X-Default-Random: "{{ random_string() }}"
        X-Day: "{{ now('%Y-%m-%d') }}"
        X-Now: "{{ now() }}"
        X-Vars: "{{ vars.day }} {{ vars.tag }}"
        X-B64: "{{ 'ops:pw' | b64encode }}"
        X-Unb64: "{{ 'b3BzOnB3' | b64decode }}"
        X-Sha: "{{ 'abc' | sha256 }}"
        X-Url: "{{ 'a b&c/d' | urlencode }}"
        X-Query: "{{ {'q': 'x y', 'n': 2} | urlencode }}"
        X-Run: "{{ run_id }}"
        X-Count: "{{ counter() }}-{{ counter() }}-{{ counter('orders') }}"
    expect:
      json:
        '"x-uuid"': {match: "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"}
        '"x-random"': {match: "^[A-Za-z0-9]{12}$"}
        '"x-default-random"': {match: "^[A-Za-z0-9]{16}$"}
        '"x-day"': {match: "^20[0-9]{2}-[01][0-9]-[0-3][0-9]$"}
        '"x-now"': {match: "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z$"}
        '"x-vars"': {match: "^20[0-9]{2}-[01][0-9]-[0-3][0-9] t-[A-Za-z0-9]{6}$"}
        '"x-b64"': b3BzOnB3
        '"x-unb64"': "ops:pw"
        '"x-sha"': ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        '"x-url"': "a%20b%26c/d"
        '"x-query"': "q=x+y&n=2"
        '"x-run"': {match: "^[0-9]{14}-[0-9a-f]{6}$"}
        '"x-count"': "1-2-1"
        "\\"x-uuid\\" == \\"x-uuid-again\\"": false
  - id: bad-random-length
    http: {get: /echo-headers, headers: {X-Random: "{{ random_string(0) }}"}}
  - id: bad-b64decode
    http: {get: /echo-headers, headers: {X-Unb64: "{{ 'not base64!' | b64decode }}"}}
  - id: bad-now-format
    http: {get: /echo-headers, headers: {X-Day: "{{ now(7) }}"}}
"""


def test_template_values_in_requests(
    pytester: pytest.Pytester,
    checklist: Callable[..., Path],
    runs_dir: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in runs_dir.items():
        monkeypatch.setenv(name, value)
    checklist(VALUES)
    found, output = outcomes(pytester, "-v")
    assert len(found) == 4, output
    assert_ids_match_outcomes(found)
    for expected in (
        "golive.yaml:40:52: checks[1].http.headers.X-Random: template error in '{{ random_string(0) }}': "
        "ValueError: random_string(n) takes a length from 1 to 1024, got 0",
        "b64decode: not base64 of UTF-8 text",
        "TypeError: now(format) takes a strftime format such as '%Y-%m-%d', got 7",
    ):
        assert expected in output


COUNTED = """\
golive: 1
checks:
  - id: numbered
    params: {n: [1, 2, 3, 4, 5, 6, 7, 8]}
    command: "echo {{ run_id }} {{ counter('order') }} {{ counter() }} >> {out}"
"""


def test_counters_are_unique_and_the_run_id_one_across_xdist_workers(
    pytester: pytest.Pytester, runs_dir: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in runs_dir.items():
        monkeypatch.setenv(name, value)
    out = pytester.path / "out.txt"
    pytester.makefile(".yaml", golive=COUNTED.replace("{out}", str(out)))
    result = pytester.runpytest_subprocess("-n", "2", "-p", "xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*2 workers*"])
    lines = [line.split() for line in out.read_text().splitlines()]
    assert len(lines) == 8
    assert len({run_id for run_id, _, _ in lines}) == 1
    assert re.fullmatch(r"[0-9]{14}-[0-9a-f]{6}", lines[0][0])
    assert sorted(int(order) for _, order, _ in lines) == list(range(1, 9))
    assert sorted(int(plain) for _, _, plain in lines) == list(range(1, 9))


AUTH = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - {id: ok-basic, http: {get: /whoami, auth: {basic: [ops, open-sesame-42]}}, expect: {json: {user: ops, scheme: basic}}}
  - {id: ok-bearer, http: {get: /whoami, auth: {bearer: "demo-token-{{ 1000 + 234 }}"}}, expect: {json: {scheme: bearer}}}
  - {id: bad-basic, http: {get: /whoami, auth: {basic: [ops, Wr0ng-pa55phrase]}}, expect: {status: 200}}
  - id: bad-bearer
    steps:
      - http: {get: /whoami, auth: {bearer: "{{ env.GOLIVE_T_VALUE }}"}}
        expect: {json: {rejected: ok}}
"""


def test_http_auth_is_sent_and_its_secrets_never_reported(
    pytester: pytest.Pytester, checklist: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo shop echoes a rejected credential (many apps do): neither the literal
    password nor a token from a variable with an innocent name reaches the terminal or JUnit."""
    monkeypatch.setenv("GOLIVE_T_VALUE", "rejected-t0ken-777")
    checklist(AUTH)
    found, output = outcomes(pytester, "-v", "--junitxml=junit.xml")
    assert len(found) == 4, output
    assert_ids_match_outcomes(found)
    junit = (pytester.path / "junit.xml").read_text()
    for text in (output, junit):
        assert "Wr0ng-pa55phrase" not in text
        assert "rejected-t0ken-777" not in text
        assert '"rejected": "***"' in text  # the evidence is there, masked
    assert "json.rejected: expected 'ok', got '***'" in output


UPLOADS = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - id: ok-multipart
    http:
      post: /upload
      files:
        photo: {path: data/photo.png}
        report: {path: data/report.bin, content_type: text/csv, filename: "report-{{ 2 + 1 }}.csv"}
      form: {album: summer}
    expect:
      json:
        multipart: true
        files.photo.filename: photo.png
        files.photo.content_type: image/png
        files.photo.size: 4
        files.photo.sha256: {sha_photo}
        files.report.filename: report-3.csv
        files.report.content_type: text/csv
        files.report.sha256: {sha_report}
        form.album: summer
  - id: ok-body-file
    http: {post: /echo-body, body_file: data/order.json}
    expect: {json: {content_type: application/json, size: {size_order}, sha256: {sha_order}}}
  - id: ok-body-file-typed
    http: {post: /echo-body, body_file: data/report.bin, headers: {Content-Type: text/plain}}
    expect: {json: {content_type: text/plain, size: 3}}
  - {id: bad-missing-upload, http: {post: /upload, files: {photo: {path: data/nope.png}}}}
  - {id: bad-missing-body-file, http: {post: /echo-body, body_file: data/nope.json}}
"""


def test_http_uploads_files_relative_to_the_checklist(
    pytester: pytest.Pytester, checklist: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pytester.path / "data"
    data.mkdir()
    contents = {"photo.png": b"\x89PNG", "report.bin": b"a,b", "order.json": b'{"sku": "A1", "qty": 2}'}
    for name, content in contents.items():
        (data / name).write_bytes(content)
    digests = {
        f"{{sha_{name.split('.')[0]}}}": hashlib.sha256(content).hexdigest() for name, content in contents.items()
    }
    text = UPLOADS.replace("{size_order}", str(len(contents["order.json"])))
    for placeholder, digest in digests.items():
        text = text.replace(placeholder, digest)
    checklist(text)
    monkeypatch.chdir(pytester.mkdir("elsewhere"))  # paths are relative to the checklist, not the working folder
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "--rootdir", str(pytester.path), "../golive.yaml")
    output = result.stdout.str()
    result.assert_outcomes(passed=3, failed=2)
    assert "::ok-" not in "".join(line for line in result.stdout.lines if "FAILED" in line)
    for expected in (
        "golive.yaml:28:5: files.photo.path: cannot read 'data/nope.png' "
        "(no such file; paths are relative to the checklist's folder)",
        "golive.yaml:29:5: body_file: cannot read 'data/nope.json' "
        "(no such file; paths are relative to the checklist's folder)",
    ):
        assert expected in output


EXTRACTION = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - id: ok-csrf-form
    steps:
      - http: {get: /form}
        expect:
          html:
            h1.title: {text: Basket}
            li.item: {count: 2, text: A1 x 2}
            "input[name=csrf_token]": {attr: {value: {match: "^[0-9a-f]{16}$"}, type: hidden}}
            "form[method=post]": {count: 1}
            table: {count: 0}
        save:
          csrf: {html: "input[name=csrf_token]", attr: value}
          title: {html: h1.title}
          order: {regex: 'order-(\\d+)'}
          order_ref: {regex: 'order-\\d+'}
          order_again: {regex: '(order)-(\\d+)', group: 2}
      - http: {post: /form, form: {csrf_token: "{{ csrf }}", qty: "{{ order }}-{{ order_again }}-{{ order_ref }}-{{ title }}"}}
        expect: {status: 200, html: {p.qty: {text: 4711-4711-order-4711-Basket}}}
  - {id: bad-post-without-token, http: {post: /form, form: {qty: "1"}}}
  - {id: bad-html-text, http: {get: /form}, expect: {html: {h1.title: {text: Checkout}, h2: {text: {contains: x}}}}}
  - {id: bad-save-html, steps: [{http: {get: /form}, save: {csrf: {html: "input[name=nope]", attr: value}}}]}
  - {id: bad-save-group, steps: [{http: {get: /form}, save: {order: {regex: 'order-(\\d+)', group: 2}}}]}
  - {id: bad-save-html-of-json, steps: [{http: {get: /health}, save: {x: {html: p}}}]}
"""


def test_save_and_expect_read_html_and_regex(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(EXTRACTION)
    found, output = outcomes(pytester, "-v")
    assert len(found) == 6, output
    assert_ids_match_outcomes(found)
    for expected in (
        "status: expected < 400, got 403",
        "html[h1.title].text: expected 'Checkout', got 'Basket'",
        "html[h2].text: expected containing 'x', got null",
        "save csrf: expected attribute 'value' of an element matching input[name=nope], got nothing",
        "save order: expected group 2 of a match of /order-(\\d+)/, got nothing",
        "save x: expected an element matching p, got nothing",
    ):
        assert expected in output
