"""Stage 1 on its own: YAML -> validated model, and located errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_golive.checklist import ChecklistError, load_checklist
from pytest_golive.checklist.templating import TemplateProblem, render
from pytest_golive.checks import kind_schemas, load_kinds

KINDS = kind_schemas(load_kinds())


def write(tmp_path: Path, text: str, name: str = "golive.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ChecklistError) as caught:
        load_checklist(path, KINDS)
    return [str(p) for p in caught.value.problems]


def test_model_keeps_defaults_and_locations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        golive: 1
        name: shop
        checks:
          - id: health
            http: {get: /health}
          - id: pages
            stage: e2e
            severity: P0
            tags: [api]
            timeout: 250ms
            retry: {until: 2s}
            params: {page: [1, 2], sort: [asc, true]}
            http: {get: "/p?page={{ page }}"}
        """,
    )
    checklist = load_checklist(path, KINDS)
    health, pages = checklist.checks
    assert (health.stage, health.severity, health.timeout_s, health.kind) == (None, "P1", 30.0, "http")
    assert health.location.line == 4
    assert pages.location.line == 6
    assert (pages.timeout_s, pages.retry.until_s, pages.retry.every_s) == (0.25, 2.0, 1.0)  # type: ignore[union-attr]
    assert [i.name for i in pages.instances()] == ["pages[1-asc]", "pages[1-true]", "pages[2-asc]", "pages[2-true]"]
    assert pages.instances()[1].params == {"page": 1, "sort": True}


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "golive: 1\nname: a\nchecks: []\nname: b\n")
    assert problems(path) == [f"{path}:4:1: duplicate key 'name' (first defined on line 2)"]


def test_every_problem_is_one_located_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        golive: 1
        checks:
          - id: a
            titel: typo
            http: {get: /}
          - id: b
            stage: smoek
            command: "true"
        """,
    )
    found = problems(path)
    assert len(found) == 2
    assert found[0].endswith(
        ":4:5: checks[0].titel: unknown key 'titel' (did you mean 'title'?); expected one of: "
        "id, title, description, stage, severity, tags, params, retry, timeout, skip, xfail, steps, "
        "expect, http, command, file, env, tcp, sql, redis, junit, coverage, manual, metrics, tls, load, fault, migrations, backup, rollback, connected"
    )
    assert ":7:12: checks[1].stage: expected one of predeploy, deploy" in found[1]
    assert all("\n" not in line for line in found)


def test_includes_merge_checks_and_vars(tmp_path: Path) -> None:
    write(tmp_path, "golive: 1\nvars: {a: base, b: base}\nchecks:\n  - {id: inc, command: 'true'}\n", "base.yaml")
    path = write(
        tmp_path, "golive: 1\ninclude: [base.yaml]\nvars: {b: mine}\nchecks:\n  - {id: own, command: 'true'}\n"
    )
    checklist = load_checklist(path, KINDS)
    assert [c.id for c in checklist.checks] == ["inc", "own"]
    assert checklist.vars == {"a": "base", "b": "mine"}
    assert checklist.checks[0].source.path.name == "base.yaml"


def test_include_cycle_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "golive: 1\ninclude: [golive.yaml]\n", "other.yaml")
    path = write(tmp_path, "golive: 1\ninclude: [other.yaml]\n")
    (line,) = problems(path)
    assert "other.yaml:2:11: include[0]: include cycle" in line


def test_duplicate_id_across_includes(tmp_path: Path) -> None:
    write(tmp_path, "golive: 1\nchecks:\n  - {id: same, command: 'true'}\n", "base.yaml")
    path = write(tmp_path, "golive: 1\ninclude: [base.yaml]\nchecks:\n  - {id: same, command: 'true'}\n")
    (line,) = problems(path)
    assert ":4:10: checks[0].id: duplicate check id 'same' (first defined at " in line
    assert "base.yaml:3:10)" in line


def test_saved_names_are_known_only_after_their_step(tmp_path: Path) -> None:
    ok = write(
        tmp_path,
        """\
        golive: 1
        checks:
          - id: flow
            steps:
              - {command: "echo 1", save: {one: stdout}}
              - {command: "echo {{ one }}"}
        """,
    )
    assert load_checklist(ok, KINDS).checks[0].kind == "steps"
    bad = write(
        tmp_path,
        """\
        golive: 1
        checks:
          - id: flow
            steps:
              - {command: "echo {{ one }}"}
              - {command: "echo 1", save: {one: stdout}}
        """,
        "bad.golive.yaml",
    )
    (line,) = problems(bad)
    assert ":5:19: checks[0].steps[0].command: undefined name 'one'" in line


def test_single_expression_keeps_its_type() -> None:
    rendered = render({"qty": "{{ n * 2 }}", "url": "/p?n={{ n }}", "plain": "x"}, {"n": 3})
    assert rendered == {"qty": 6, "url": "/p?n=3", "plain": "x"}


def test_render_error_names_the_path() -> None:
    with pytest.raises(TemplateProblem) as caught:
        render({"h": {"a": "{{ vars.missing }}"}}, {"vars": {}}, ("checks", 0))
    assert caught.value.doc_path == ("checks", 0, "h", "a")
    assert "missing" in caught.value.message


def test_sandbox_blocks_python_internals() -> None:
    with pytest.raises(TemplateProblem, match=r"unsafe|not safely|access"):
        render("{{ ''.__class__.__mro__ }}", {})
