"""Stage 1 on its own: YAML -> validated model, and located errors."""

from __future__ import annotations

import os
import subprocess
import sys
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
        "id, title, description, stage, severity, tags, params, retry, watch, timeout, skip, xfail, needs, exclusive, stubs, steps, "
        "expect, http, command, file, env, tcp, sql, redis, junit, coverage, manual, metrics, tls, load, fault, migrations, backup, rollback, connected, log, browser, websocket, openapi, stub, mail"
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


def test_a_problem_in_an_included_file_names_the_include_that_read_it(tmp_path: Path) -> None:
    """The user wrote the include: a problem inside the included file (or reading it) also
    says where it was included, the user's own file, on the same line."""
    write(tmp_path, "golive: 1\nchecks:\n  - {id: a, comand: 'true'}\n", "base.yaml")
    write(tmp_path, "golive: 1\ninclude: [base.yaml]\n", "middle.yaml")
    path = write(tmp_path, "golive: 1\ninclude: [middle.yaml, /dev/null]\n")
    (line,) = problems(path)
    assert line.startswith(f"{tmp_path / 'base.yaml'}:3:13: checks[0].comand: unknown check kind 'comand'"), line
    assert line.endswith(f" (included at {path}:2:11)")
    write(tmp_path, "golive: 1\n", "middle.yaml")
    (line,) = problems(path)
    assert line == f"/dev/null:1:1: cannot read file: a device, not a regular file (included at {path}:2:24)"


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


def test_merge_keys_share_defaults_and_written_keys_override(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        golive: 1
        x-defaults: &defaults {severity: P1, stage: smoke, tags: [shared]}
        x-slow: &slow {timeout: 1m, severity: P3}
        checks:
          - <<: *defaults
            id: health
            severity: P0
            command: "true"
          - id: listing
            <<: [*slow, *defaults]
            command: "true"
          - id: own
            <<: {stage: e2e}
            command: "true"
        """,
    )
    health, listing, own = load_checklist(path, KINDS).checks
    assert (health.severity, health.stage, health.tags) == ("P0", "smoke", ("shared",))
    assert (listing.severity, listing.stage, listing.timeout_s) == ("P3", "smoke", 60.0)  # the first mapping wins
    assert own.stage == "e2e"
    assert health.source.locate(("checks", 0, "stage")).line == 2  # merged values point where they are written


def test_extension_keys_hold_anchors_and_are_ignored(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        golive: 1
        x-common: &common {timeout: 2s}
        checks:
          - id: a
            x-owner: payments team
            x-steps: &steps [{command: "echo {{ not_a_param }}"}]
            <<: *common
            command: "true"
        """,
    )
    (check,) = load_checklist(path, KINDS).checks
    assert check.timeout_s == 2.0
    bad = write(tmp_path, "golive: 1\nxtra: 1\n", "bad.yaml")
    (line,) = problems(bad)
    assert ":2:1: xtra: unknown key 'xtra'" in line


@pytest.mark.parametrize("kind", ["symlink loop", "device", "fifo", "directory", "too large"])
def test_what_is_not_a_checklist_file_is_one_line(tmp_path: Path, kind: str) -> None:
    """Checked by the open descriptor, so a FIFO never blocks: golive validate runs in a
    subprocess with a timeout, a guard against the hang this was."""
    path = tmp_path / "golive.yaml"
    expected = {
        "symlink loop": "cannot read file: Too many levels of symbolic links",
        "device": "cannot read file: a device, not a regular file",
        "fifo": "cannot read file: a FIFO, not a regular file",
        "directory": "cannot read file: a directory, not a regular file",
        "too large": "file too large: a checklist may be at most 8 MiB",
    }[kind]
    if kind == "symlink loop":
        path.symlink_to(path.name)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        with path.open("wb") as big:
            big.write(b"golive: 1\n")
            big.truncate(9 * 1024 * 1024)
    including = write(tmp_path, "golive: 1\ninclude: [golive.yaml]\n", "main.yaml")
    for target in (path, including) if kind != "directory" else (including,):
        result = subprocess.run(
            [sys.executable, "-m", "pytest_golive", "validate", target.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 2
        assert result.stderr.splitlines() == [result.stderr.strip()]
        assert expected in result.stderr
        assert result.stderr.split(":")[1:3] == ["1", "1"]


def test_pytest_reports_a_symlink_loop_without_an_internal_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "loop.golive.yaml").symlink_to("loop.golive.yaml")
    result = pytester.runpytest("-p", "no:cacheprovider", "--golive", "loop.golive.yaml")
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_includes_are_bounded_in_depth_and_in_number(tmp_path: Path) -> None:
    for index in range(600):
        write(tmp_path, f"golive: 1\ninclude: [c{index + 1}.yaml]\n", f"c{index}.yaml")
    write(tmp_path, "golive: 1\n", "c600.yaml")
    (line,) = problems(tmp_path / "c0.yaml")
    assert "c15.yaml:2:11: include[0]: includes nested more than 16 files deep" in line
    for index in range(12):  # each file includes the next one twice: 4,096 reads without a bound
        write(tmp_path, f"golive: 1\ninclude: [w{index + 1}.yaml, w{index + 1}.yaml]\n", f"w{index}.yaml")
    write(tmp_path, "golive: 1\n", "w12.yaml")
    (line,) = problems(tmp_path / "w0.yaml")
    assert ": include[0]: more than 100 files included in all" in line


def test_items_are_bounded_per_checklist_before_they_are_made(tmp_path: Path) -> None:
    values = ", ".join(str(n) for n in range(100))
    checks = "".join(f"  - {{id: c{n}, params: {{a: [{values}], b: [{values}]}}, command: 'true'}}\n" for n in range(6))
    path = write(tmp_path, f"golive: 1\nchecks:\n{checks}")
    (line,) = problems(path)
    assert ":8:5: checks[5]: more than 50,000 items in this checklist and its includes; split it" in line


def test_only_the_invalid_checks_are_explained_and_keep_their_place(tmp_path: Path) -> None:
    checks = [f"  - {{id: c{n}, command: 'true'}}\n" for n in range(300)]
    checks[250] = "  - {id: c250, comand: 'true'}\n"
    checks[260] = "  - {id: c260, command: 'true', severity: P9}\n"
    path = write(tmp_path, "golive: 1\nname: [not text]\nchecks:\n" + "".join(checks))
    found = problems(path)
    assert [line.split(": ", 1)[1].split(":")[0] for line in found] == [
        "name",
        "checks[250].comand",
        "checks[260].severity",
    ]
    assert found[1].startswith(
        f"{path}:254:16: checks[250].comand: unknown check kind 'comand' (did you mean 'command'?)"
    )
    assert found[2].startswith(f"{path}:264:43: checks[260].severity: expected one of P0, P1, P2, P3, got 'P9'")
