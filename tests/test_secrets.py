"""Secrets never reach an artifact, in any encoding: a real run plants them in an app's log,
a command's output, an HTTP body, a query string and the checklist's vars, and every
artifact (terminal, JUnit, and the gate's terminal, evidence, HTML and summary) is searched
for each encoding of each."""

from __future__ import annotations

import base64
import html
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from pytest_golive.checks.redaction import MASK, Redactor

GUARD_S = 120
TOKEN = "tok+SECRET/456=="  # an env var with a secret-looking name; +, / and = change under every encoding
DB_PASSWORD = "dbpw-Q7x9/k"  # only inside a URL whose name says nothing
DSN_PASSWORD = "dsn-pw-K3j2"  # known to nobody: only the key before it says it is one
VARS_TOKEN = "vars-literal-Zq81"  # written literally in the checklist's vars

APP = r"""
import base64, http.server, json, os, sys
from urllib.parse import quote, quote_plus, urlsplit

token = os.environ["TOKEN"]
db = urlsplit(os.environ["DATABASE_URL"])

def log(*lines):
    for line in lines:
        print(line, flush=True)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"echo": self.path, "token": token, "b64": base64.b64encode(token.encode()).decode()})
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())
        log(
            f"connecting with host={db.hostname} port=5432 password=DSN_PASSWORD dbname=shop",
            f"password: {db.password}",
            f"token as sent: {quote(token, safe='')} {quote_plus(token)} {quote(token)}",
            f"auth: Basic {base64.b64encode(('admin:' + token).encode()).decode()} {base64.urlsafe_b64encode(token.encode()).decode()}",
            "settings " + json.dumps({"api": token, "db": os.environ["DATABASE_URL"]}),
        )

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
""".replace("DSN_PASSWORD", DSN_PASSWORD)

CHECKLIST = """\
golive: 1
vars:
  service_token: {vars_token}
app:
  command: [{python}, app.py, "{{{{ app.port }}}}"]
  env:
    TOKEN: "{{{{ env.GOLIVE_T_API_TOKEN }}}}"
    DATABASE_URL: "{{{{ env.GOLIVE_T_DATABASE_URL }}}}"
  ready: {{timeout: 20s}}
checks:
  - id: echo
    severity: P0
    http:
      get: /echo
      query: {{token: "{{{{ env.GOLIVE_T_API_TOKEN }}}}", vt: "{{{{ vars.service_token }}}}"}}
    expect: {{status: 200}}
  - id: shell
    command: >-
      python3 -c "import base64, os, sys; from urllib.parse import quote, quote_plus;
      t = sys.argv[1]; v = sys.argv[2];
      print('dsn: host=db user=shop password={dsn}');
      print('password: ' + os.environ['GOLIVE_T_DB_PASSWORD']);
      print(quote_plus(t), quote(t, safe=''), quote_plus(v));
      print(base64.b64encode(t.encode()).decode(), base64.urlsafe_b64encode(v.encode()).decode());
      print(repr(t), t.replace('/', '\\\\/'))" "{{{{ env.GOLIVE_T_API_TOKEN }}}}" "{{{{ vars.service_token }}}}"
    expect: {{exit: 1}}
  - id: vars-shown
    command: "echo {{{{ vars.service_token }}}} {{{{ env.GOLIVE_T_DATABASE_URL }}}}"
    expect: {{stdout: {{contains: nothing-like-this}}}}
"""


def encodings(secret: str) -> set[str]:
    raw = secret.encode()
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        html.escape(secret),
    }


def planted_run(folder: Path) -> tuple[dict[str, str], int, int]:
    """Run the planted checklist in ``folder``, then ``golive gate`` on its JUnit: every
    artifact's text, and both exit codes (scripts/leak_figures.py reports the same)."""
    (folder / "app.py").write_text(APP)
    (folder / "golive.yaml").write_text(
        CHECKLIST.format(vars_token=VARS_TOKEN, python=sys.executable, dsn=DSN_PASSWORD)
    )
    env = {
        **os.environ,
        "GOLIVE_T_API_TOKEN": TOKEN,
        "GOLIVE_T_DATABASE_URL": f"postgresql://shop:{quote(DB_PASSWORD, safe='')}@127.0.0.1:5432/shop",
        "GOLIVE_T_DB_PASSWORD": DB_PASSWORD,
        "GOLIVE_RUNS_DIR": str(folder / "runs"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-vv", "--junitxml=junit.xml", "golive.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env=env,
        check=False,
    )
    reports = ["--evidence", "evidence.json", "--html", "report.html", "--summary", "summary.md"]
    gate = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "gate", "junit.xml", "--checklist", "golive.yaml", *reports],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env={**env, "GITHUB_ACTIONS": "true"},
        check=False,
    )
    artifacts = {
        "terminal": run.stdout + run.stderr,
        "junit": (folder / "junit.xml").read_text(),
        "gate terminal": gate.stdout + gate.stderr,
        "evidence": (folder / "evidence.json").read_text(),
        "html": (folder / "report.html").read_text(),
        "summary": (folder / "summary.md").read_text(),
        "kept app logs": "".join(log.read_text() for log in sorted((folder / "golive-logs").rglob("*.log"))),
    }
    assert artifacts["kept app logs"], "the run kept no app log"
    return artifacts, run.returncode, gate.returncode


def leaks_in(text: str) -> list[str]:
    """Every form of every planted secret found in ``text``."""
    return [
        f"{form!r} (a form of {secret!r})"
        for secret in (TOKEN, DB_PASSWORD, DSN_PASSWORD, VARS_TOKEN)
        for form in sorted(encodings(secret))
        if form in text
    ]


def test_no_encoding_of_a_secret_reaches_any_artifact(tmp_path: Path) -> None:
    artifacts, run_exit, gate_exit = planted_run(tmp_path)
    leaks = {name: leaks_in(text) for name, text in artifacts.items()}
    assert leaks == {name: [] for name in artifacts}
    # the planted forms were printed, masked: the run did show the app log, the output and the body
    terminal = artifacts["terminal"]
    assert "password=***" in terminal, terminal[-4000:]
    assert "password: ***" in terminal
    assert "  app log, last " in terminal
    assert '"token": "***"' in terminal
    assert "Basic ***" in terminal
    assert run_exit == 1
    assert gate_exit == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("    GOLIVE_T_API_TOKEN: expected matching /^ghp_/, got a value of 16 characters (not shown)", None),
        ("check 'secrets-configured': Secrets are configured", None),
        ("3 tokens: 5 passed", None),
        ("host=db password='two words' user=x", f"host=db password='{MASK}' user=x"),
        ("Authorization: Bearer abc.def.ghi", f"Authorization: {MASK}"),
        ('{"client_secret":"x\\"y"}', f'{{"client_secret":"{MASK}"}}'),
        ("PGPASSWORD=hunter22 psql", f"PGPASSWORD={MASK} psql"),
        # golive's own located problem names a place in the checklist, not a value
        ("golive.yaml:4:21: app.env.SECRET_KEY: template error in '{{ env.X }}'", None),
        ("golive.yaml:4:21: password=hunter22", f"golive.yaml:4:21: password={MASK}"),
    ],
)
def test_keys_mask_their_values_and_nothing_else(text: str, expected: str | None) -> None:
    assert Redactor({})(text) == (expected or text)


def test_a_password_inside_any_url_value_is_learnt_and_masked_on_its_own() -> None:
    hide = Redactor({"DATABASE_URL": "postgresql://u:p%40ss-word-1@db/x"})
    assert hide("the password is p@ss-word-1.") == f"the password is {MASK}."


def test_secret_looking_vars_are_masked_at_any_depth() -> None:
    hide = Redactor({})
    hide.add_named({"service_token": "literal-1", "db": {"password": "literal-2"}, "credentials": {"k": "literal-3"}})
    hide.add_named({"harmless": "visible-4"})
    assert hide("literal-1 literal-2 literal-3 visible-4") == f"{MASK} {MASK} {MASK} visible-4"


def test_keys_and_salts_named_so_are_secrets_as_init_calls_them() -> None:
    """fief's ENCRYPTION_KEY, a SIGNING_KEY, a HASH_SALT: init generates them as secrets
    (onboarding/wiring.py), so the reports must mask them too; a name that only holds the
    word is not one."""
    hide = Redactor({"ENCRYPTION_KEY": "fernet-key-1", "SIGNING_KEY": "signing-2", "HASH_SALT": "salty-3"})
    hide.add_named({"stripe_key": "sk-test-4", "keyboard": "visible-5", "key_prefix": "visible-6"})
    text = "fernet-key-1 signing-2 salty-3 sk-test-4 visible-5 visible-6"
    assert hide(text) == f"{MASK} {MASK} {MASK} {MASK} visible-5 visible-6"


def test_base64_inside_a_longer_encoding_is_masked_whole() -> None:
    hide = Redactor({"API_TOKEN": TOKEN})
    for prefix in ("", "a", "ab", "user:"):
        encoded = base64.b64encode((prefix + TOKEN + "!").encode()).decode()
        assert hide(f"x {encoded} y") == f"x {MASK} y"


def test_a_literal_secret_of_app_env_is_masked_when_the_app_fails_to_start(tmp_path: Path) -> None:
    """The app prints its token and exits at once: the start error shows the log's last lines
    and keeps the log, both before any check ran with the app, so the secret-named values of
    ``app.env`` must be known from when they are rendered."""
    literal = "app-env-literal-W4v7"
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        "app:\n"
        f"  command: [{sys.executable}, -c, \"import os; print('token is', os.environ['SHOP_API_TOKEN']); exit(1)\"]\n"
        f"  env: {{SHOP_API_TOKEN: {literal}}}\n"
        "checks:\n"
        "  - {id: health, http: {get: /health}}\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--junitxml=junit.xml", "golive.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env={**os.environ, "GOLIVE_RUNS_DIR": str(tmp_path / "runs")},
        check=False,
    )
    terminal = run.stdout + run.stderr
    assert "token is ***" in terminal, terminal[-3000:]  # the log's lines were shown, masked
    logs = "".join(log.read_text() for log in sorted((tmp_path / "golive-logs").rglob("*.log")))
    artifacts = {"terminal": terminal, "junit": (tmp_path / "junit.xml").read_text(), "kept app logs": logs}
    assert {name: literal in text for name, text in artifacts.items()} == {name: False for name in artifacts}
