"""The Django migrations walk (fixtures/migrations/django_notes): the project's own apps go up,
down and up one migration at a time in dependency order while contrib apps are applied as
dependencies; planted defects are named; irreversible migrations are named and can be
accepted; the scope (``last``) and ``mode: applied``; the release drill on a Django project."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from test_lifecycle import processes_mentioning
from test_migration_layouts import failures
from test_migration_layouts import run as run_checks

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "fixtures" / "migrations" / "django_notes"
MANAGE = PROJECT / "src" / "manage.py"
#: contenttypes 2 + auth 12 + notes 4 + labels 3, in the order `migrate` applies them
REVISIONS = 21
OWN = ["notes.0001_initial", "notes.0002_note_body", "notes.0003_title_longer", "notes.0004_note_created"]


def run(
    pytester: pytest.Pytester, checks: str, *, init: str = ""
) -> tuple[pytest.RunResult, dict[str, dict[str, str]]]:
    """The checks (a YAML list) on a local Postgres, its database made with ``init`` SQL when given."""
    if init:
        (pytester.path / "init.sql").write_text(init)
    services = "{db: {kind: postgres, init: [init.sql]}}" if init else "{db: {kind: postgres}}"
    return run_checks(pytester, textwrap.dedent(checks), services)


def test_own_apps_walk_one_migration_at_a_time_and_contrib_apps_are_dependencies(pytester: pytest.Pytester) -> None:
    result, properties = run(
        pytester,
        f"""\
        - id: default-scope
          timeout: 2m
          migrations: {{django: {MANAGE}}}
        - id: every-migration
          timeout: 2m
          migrations: {{django: {MANAGE}, last: all}}
        - id: newest-of-each-app
          timeout: 2m
          migrations: {{django: {MANAGE}, last: 1}}
        - id: above-a-migration
          timeout: 2m
          migrations: {{django: {MANAGE}, minimum_downgrade: notes.0002_note_body}}
        """,
    )
    result.assert_outcomes(passed=4)
    assert {name: props["golive.revisions"] for name, props in properties.items()} == dict.fromkeys(
        properties, str(REVISIONS)
    )
    checked = {name: props["golive.downgrades_checked"] for name, props in properties.items()}
    # the walk's order puts labels (after notes.0002) before notes.0003 and notes.0004; labels.0003
    # re-creates a CHECK under another name on its way back, which is the same constraint
    assert checked == {
        "default-scope": "7",
        "every-migration": "7",
        "newest-of-each-app": "2",
        "above-a-migration": "5",
    }


def test_a_downgrade_that_forgets_an_index_is_named(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTES_DEFECT", "index")
    result, _ = run(pytester, f"- id: walk\n  timeout: 2m\n  migrations: {{django: {MANAGE}}}\n")
    result.assert_outcomes(failed=1)
    assert failures(result) == [
        "golive.yaml:4:3: schema after downgrade notes.0003_title_longer -> labels.0003_alter_label_weight: expected the"
        " schema before upgrade notes.0003_title_longer, got unexpected index public.notes_body_prefix: CREATE INDEX"
        ' notes_body_prefix ON public.notes_note USING btree ("left"(body, 20))'
    ]


def test_irreversible_migrations_are_named_and_can_be_accepted(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTES_DEFECT", "irreversible")
    result, properties = run(
        pytester,
        f"""\
        - id: strict
          timeout: 2m
          migrations: {{django: {MANAGE}}}
        - id: accepted
          timeout: 2m
          migrations: {{django: {MANAGE}, irreversible: [notes.0004_note_created]}}
        """,
    )
    result.assert_outcomes(passed=1, failed=1)
    assert failures(result) == [
        "golive.yaml:4:3: downgrade notes.0004_note_created: expected a reversible migration (or accept it:"
        " irreversible: [notes.0004_note_created]), got irreversible: RunPython without reverse_code"
    ]
    # the strict walk still checked every other migration; the accepted one is upgraded only
    assert properties["strict"]["golive.downgrades_checked"] == "6"
    assert properties["accepted"]["golive.downgrades_checked"] == "6"


def test_a_walk_that_runs_out_of_time_names_its_database_and_stops(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On main, a command walk that outlasted its check said only `sh still running after 22s;
    stopped`, while it was migrating a staging database; the Django walk names where it ran,
    and its process is gone."""
    monkeypatch.setenv("NOTES_DEFECT", "slow")
    shutil.copytree(PROJECT, pytester.path / "project")
    manage = pytester.path / "project" / "src" / "manage.py"
    result, _ = run(pytester, f"- id: walk\n  timeout: 20s\n  migrations: {{django: {manage}}}\n")
    result.assert_outcomes(failed=1)
    (line,) = failures(result)
    assert line.startswith(
        "golive.yaml:4:3: upgrade labels.0003_alter_label_weight -> notes.0004_note_created: expected to succeed,"
        " got Django still running after "
    )
    assert " on the scratch database golive_migrations_" in line
    assert line.endswith("; stopped")
    assert processes_mentioning(str(manage)) == []


def test_applied_names_the_migrations_a_deployed_database_lacks(pytester: pytest.Pytester) -> None:
    applied = [
        "contenttypes.0001_initial",
        "contenttypes.0002_remove_content_type_name",
        *[f"auth.{name}" for name in AUTH],
        *OWN[:3],
        "labels.0001_initial",
        "labels.0002_label_notes",
        "labels.0003_alter_label_weight",
    ]
    rows = ", ".join(f"('{name.split('.')[0]}', '{name.split('.')[1]}', now())" for name in applied)
    init = (
        "CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255), name varchar(255),"
        f" applied timestamptz); INSERT INTO django_migrations (app, name, applied) VALUES {rows};"
    )
    result, _ = run(pytester, f"- id: applied\n  migrations: {{django: {MANAGE}, mode: applied}}\n", init=init)
    result.assert_outcomes(failed=1)
    (line,) = failures(result)
    assert line.endswith(
        "got auth.0012_alter_user_first_name_max_length, contenttypes.0002_remove_content_type_name,"
        " labels.0003_alter_label_weight, notes.0003_title_longer (not applied: notes.0004_note_created)"
    )


AUTH = [
    "0001_initial",
    "0002_alter_permission_name_max_length",
    "0003_alter_user_email_max_length",
    "0004_alter_user_username_opts",
    "0005_alter_user_last_login_null",
    "0006_require_contenttypes_0002",
    "0007_alter_validators_add_error_messages",
    "0008_alter_user_username_max_length",
    "0009_alter_user_last_name_max_length",
    "0010_alter_group_name_max_length",
    "0011_update_proxy_permissions",
    "0012_alter_user_first_name_max_length",
]


def test_release_drill_on_a_django_project(pytester: pytest.Pytester) -> None:
    """Release N is at notes.0003 (`manage.py migrate notes 0003_title_longer`), N+1 at the head."""
    serve = f"{sys.executable} -m http.server --bind 127.0.0.1 $PORT"
    result, _ = run(
        pytester,
        f"""\
        - id: drill
          timeout: 2m
          rollback:
            migrations: {{django: {MANAGE}}}
            from: {{revision: notes.0003_title_longer, command: [sh, -c, "exec {serve}"]}}
            to: {{command: [sh, -c, "exec {serve}"]}}
            smoke: [{{http: {{get: /}}}}]
        """,
    )
    result.assert_outcomes(passed=1)
    assert "1 passed, 3 drill phases passed" in result.stdout.str()
