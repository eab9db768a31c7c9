"""Checklists that validate must run: values from templates reach processes as text, a
template that fails to evaluate is one located line, and every check ends by its timeout
(regexes cannot backtrack past it, a load stops at it). Hang-prone cases run pytest in a
subprocess with a generous timeout: a guard against hangs, not a timing assertion."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HANG_GUARD_S = 120


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A real listening socket on 127.0.0.1 that never answers: every request waits out its timeout."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4096)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_template_values_reach_a_command_as_text(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(
        """\
        golive: 1
        checks:
          - id: argv
            params: {n: [5]}
            command: [echo, "{{ n }}", "{{ n * 2 }}"]
            expect: {stdout: "5 10\\n"}
          - id: options
            params: {n: [7]}
            command: {run: "echo $GOLIVE_N; cat", env: {GOLIVE_N: "{{ n }}"}, stdin: "{{ n }}"}
            expect: {stdout: "7\\n7"}
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_template_that_fails_to_evaluate_is_one_located_line(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist(
        """\
        golive: 1
        checks:
          - id: in-spec
            command: "echo {{ env.HOME + 1 }}"
          - id: in-expect
            command: "true"
            expect: {exit: "{{ 1 / 0 }}"}
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "golive.yaml:4:14: checks[0].command: template error in 'echo {{ env.HOME + 1 }}': TypeError: " in output
    assert "golive.yaml:7:20: checks[1].expect.exit: template error in '{{ 1 / 0 }}': ZeroDivisionError: " in output


def test_vars_that_fail_to_evaluate_are_one_located_line(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist('golive: 1\nvars: {home: "{{ env.HOME + 1 }}"}\nchecks:\n  - {id: a, command: "true"}\n')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "Traceback" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*golive.yaml:2:14: vars.home: template error in '{{ env.HOME + 1 }}': TypeError: *"])


def test_a_backtracking_regex_cannot_outlast_its_timeout(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist(
        """\
        golive: 1
        checks:
          - id: redos
            timeout: 5s
            command: [python3, -c, "print('a' * 40 + '!')"]
            expect: {stdout: {match: "(a+)+$"}}
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=HANG_GUARD_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*stdout: expected matching /(a+)+$/, got*"])


@pytest.mark.parametrize(
    ("timeout", "rate", "message"),
    [
        ("7s", "1000/s", "load still running after the check's timeout (7s); stopped it"),
        ("20s", "0/s", "a rate is above 0/s and at most 10000/s, got '0/s'"),
        ("20s", "999999999999/s", "a rate is above 0/s and at most 10000/s, got '999999999999/s'"),
    ],
    ids=["never-answered", "template-rate-0", "template-rate-huge"],
)
def test_a_load_ends_by_its_timeout(
    pytester: pytest.Pytester, checklist: Callable[..., Path], silent_server: str, timeout: str, rate: str, message: str
) -> None:
    """Against a server that never answers. The rate comes from a template, so the last two
    are checked when the check runs (validation refuses them written out)."""
    checklist(
        f"""\
        golive: 1
        app: {{base_url: "{silent_server}"}}
        checks:
          - id: load
            timeout: {timeout}
            params: {{r: ["{rate}"]}}
            load: {{get: /, duration: 1s, rate: "{{{{ r }}}}", request_timeout: 5s}}
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=HANG_GUARD_S)
    result.assert_outcomes(failed=1)
    assert "Traceback" not in result.stdout.str()
    result.stdout.fnmatch_lines([f"*{message}*"])
