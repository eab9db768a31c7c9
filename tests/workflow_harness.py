"""Runs a GitHub Actions workflow's jobs on this machine, as a runner would, to prove the
workflows work and not only that they parse.

Each ``run:`` step is executed by bash with the environment Actions gives it: GITHUB_ENV,
GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_PATH, GITHUB_WORKSPACE, RUNNER_TEMP, the
workflow's, job's and step's ``env:`` with their ``${{ }}`` expressions evaluated, the
inputs and secrets of a ``workflow_call``, matrices, ``needs``, ``if:`` and
``timeout-minutes``. Jobs run in dependency order, each in a workspace of its own.

Third-party actions cannot run here (no GitHub, no runner images), so each ``uses:`` is
replaced by its documented effect:

- actions/checkout: a copy of the repository's working tree (tracked and untracked files
  that git does not ignore);
- actions/setup-python: the current interpreter, in a fresh virtualenv of the job that
  sees the packages of this test run's environment (so ``pip install`` installs the
  project for real but finds its dependencies already there, as a warm cache would);
- actions/cache: nothing (no cache to restore);
- actions/upload-artifact / download-artifact: copies into and out of the run's artifact
  folder, with ``name``, ``pattern``, ``merge-multiple`` and ``if-no-files-found``;
- a local reusable workflow (``uses: ./.github/workflows/x.yml`` on a job): that
  workflow, run with the job's ``with:`` and ``secrets:``.

Anything else is an error, so a workflow cannot silently skip a step here.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# --- expressions ----------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class ExpressionError(Exception):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    found, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read expression at {text[pos:]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        pos = match.end()
    return found


class _Parser:
    """GitHub's expression language: literals, contexts, indexes, functions, ! == != && ||."""

    def __init__(self, text: str, contexts: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.contexts = contexts
        self.functions = functions

    def parse(self) -> Any:
        value = self._or()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.pos][1]!r}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError("expression ends too early")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def _or(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            value = value or right
        return value

    def _and(self) -> Any:
        value = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            value = value and right
        return value

    def _compare(self) -> Any:
        value = self._unary()
        while self._peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self._take()[1]
            right = self._unary()
            value = _compare(op, value, right)
        return value

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not self._unary()
        return self._postfix(self._primary())

    def _primary(self) -> Any:
        kind, text = self._take()
        if text == "(":
            value = self._or()
            self._take(")")
            return value
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self._peek() == "(":
            self._take()
            args = []
            while self._peek() != ")":
                args.append(self._or())
                if self._peek() == ",":
                    self._take()
            self._take(")")
            if text.lower() not in self.functions:
                raise ExpressionError(f"unknown function {text}()")
            return self.functions[text.lower()](*args)
        if text not in self.contexts:
            raise ExpressionError(f"unknown context {text!r}")
        return self.contexts[text]

    def _postfix(self, value: Any) -> Any:
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                value = _index(value, self._take()[1])
            else:
                key = self._or()
                self._take("]")
                value = _index(value, key)
        return value


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        lowered = {str(k).lower(): v for k, v in value.items()}
        return lowered.get(str(key).lower())
    if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
        return value[key]
    return None


def _compare(op: str, left: Any, right: Any) -> bool:
    """As Actions compares: two strings case-insensitively, anything else as numbers."""
    if isinstance(left, str) and isinstance(right, str):
        a: Any = left.lower()
        b: Any = right.lower()
    else:
        a, b = _number(left), _number(right)
    if op == "==":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    return bool(a <= b) if op == "<=" else bool(a >= b)


def _number(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else 0.0
        except ValueError:
            return float("nan")
    if value is None:
        return 0.0
    return float(value)


def _to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


# --- the run --------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    outcome: str  # success, failure, skipped
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    name: str
    result: str  # success, failure, skipped
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)


@dataclass
class WorkflowResult:
    jobs: dict[str, JobResult]
    outputs: dict[str, str]

    @property
    def passed(self) -> bool:
        return all(job.result in ("success", "skipped") for job in self.jobs.values())


@dataclass
class Annotation:
    level: str
    file: str | None
    line: int | None
    message: str


@dataclass
class Harness:
    """One workflow run of ``repo`` (the calling repository), in ``work``."""

    repo: Path
    work: Path
    event: dict[str, str] = field(default_factory=dict)  # ref, ref_name, event_name, repository, sha
    environ: dict[str, str] = field(default_factory=dict)  # added to every step's environment
    extra_path: list[Path] = field(default_factory=list)  # folders put first on every step's PATH
    log: list[str] = field(default_factory=list)  # every line a step printed, as printed
    annotations: list[Annotation] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    _jobs_started: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def artifacts(self) -> Path:
        return self.work / "artifacts"

    def masked_log(self) -> str:
        text = "\n".join(self.log)
        for secret in self.masks:
            text = text.replace(secret, "***")
        return text

    def showing(self, secret: str) -> list[str]:
        """Where ``secret`` can be read after the run: a log line as printed (a runner masks
        only what ``::add-mask::`` named, so the mask command itself is not counted) or an
        artifact's file."""
        found = [f"log: {line}" for line in self.log if secret in line and not line.startswith("::add-mask::")][:1]
        if self.artifacts.is_dir():
            found += [
                f"artifact: {file.relative_to(self.artifacts)}"
                for file in sorted(self.artifacts.rglob("*"))
                if file.is_file() and secret in file.read_text(errors="replace")
            ]
        return found

    def run(
        self,
        workflow: Path,
        *,
        inputs: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> WorkflowResult:
        data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        triggers = data.get(True) or data.get("on") or {}
        call = (triggers.get("workflow_call") or {}) if isinstance(triggers, dict) else {}
        given = dict(inputs or {})
        unknown = set(given) - set(call.get("inputs") or {})
        if unknown:
            raise ExpressionError(f"{workflow.name}: no such inputs {sorted(unknown)}")
        typed = {}
        for name, spec in (call.get("inputs") or {}).items():
            value = given.get(name, spec.get("default"))
            if value is None and spec.get("required"):
                raise ExpressionError(f"{workflow.name}: input {name!r} is required")
            typed[name] = _typed(value, spec.get("type", "string"))
        declared = set((call.get("secrets") or {}).keys())
        passed_secrets = dict(secrets or {})
        if call and not set(passed_secrets) <= declared:
            raise ExpressionError(f"{workflow.name}: secrets {sorted(set(passed_secrets) - declared)} are not declared")
        jobs: dict[str, JobResult] = {}
        for name in _job_order(data["jobs"]):
            jobs[name] = self._job(name, data["jobs"][name], data, workflow, typed, passed_secrets, jobs)
        outputs = {}
        contexts = {"jobs": {n: {"outputs": j.outputs, "result": j.result} for n, j in jobs.items()}}
        for name, spec in (call.get("outputs") or {}).items():
            outputs[name] = _to_string(self.evaluate(spec["value"], contexts))
        return WorkflowResult(jobs, outputs)

    # -- jobs

    def _job(
        self,
        name: str,
        job: dict[str, Any],
        workflow: dict[str, Any],
        path: Path,
        inputs: dict[str, Any],
        secrets: dict[str, str],
        done: dict[str, JobResult],
    ) -> JobResult:
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        base = self._contexts(inputs, secrets)
        base["needs"] = {n: {"outputs": done[n].outputs, "result": done[n].result} for n in needs}
        needs_ok = all(done[n].result == "success" for n in needs)
        condition = job.get("if", "success()")
        if not self._condition(condition, base, job_ok=needs_ok):
            self.log.append(f"[{name}] skipped ({condition})")
            return JobResult(name, "skipped")
        if "uses" in job:
            return self._reusable(name, job, base)
        matrix = self.evaluate((job.get("strategy") or {}).get("matrix") or {}, base)
        combos = _combinations(matrix)
        results = [self._job_once(name, job, workflow, base, combo) for combo in combos]
        failed = any(r.result == "failure" for r in results)
        outputs: dict[str, str] = {}
        for result in results:
            outputs.update({k: v for k, v in result.outputs.items() if v != ""})
        steps = [step for r in results for step in r.steps]
        return JobResult(name, "failure" if failed else "success", outputs, steps)

    def _reusable(self, name: str, job: dict[str, Any], contexts: dict[str, Any]) -> JobResult:
        target = str(job["uses"])
        if not target.startswith("./"):
            raise ExpressionError(f"job {name}: only local reusable workflows run here, not {target}")
        with_ = {k: self.evaluate(v, contexts) for k, v in (job.get("with") or {}).items()}
        secrets = job.get("secrets") or {}
        passed = (
            dict(contexts["secrets"])
            if secrets == "inherit"
            else {k: _to_string(self.evaluate(v, contexts)) for k, v in secrets.items()}
        )
        self.log.append(f"[{name}] calls {target}")
        result = self.run(self.repo / target[2:], inputs=with_, secrets=passed)
        steps = [step for j in result.jobs.values() for step in j.steps]
        return JobResult(name, "success" if result.passed else "failure", result.outputs, steps)

    def _job_once(
        self, name: str, job: dict[str, Any], workflow: dict[str, Any], base: dict[str, Any], matrix: dict[str, Any]
    ) -> JobResult:
        index = next(self._jobs_started)
        root = self.work / f"job-{index}-{name}"
        workspace, temp = root / "workspace", root / "temp"
        workspace.mkdir(parents=True)
        temp.mkdir()
        contexts = {**base, "matrix": matrix, "steps": {}, "strategy": {}}
        contexts["runner"] = {"os": "Linux", "arch": "X64", "temp": str(temp), "name": "harness"}
        contexts["github"] = {**contexts["github"], "workspace": str(workspace), "job": name}
        env: dict[str, str] = {}
        for scope in (workflow.get("env") or {}, job.get("env") or {}):
            env.update({k: _to_string(self.evaluate(v, {**contexts, "env": env})) for k, v in scope.items()})
        path_extra: list[str] = []
        job_ok = True
        steps: list[StepResult] = []
        defaults = ((job.get("defaults") or {}).get("run") or {}) or ((workflow.get("defaults") or {}).get("run") or {})
        for number, step in enumerate(job.get("steps") or []):
            label = f"[{name}{'/' + json.dumps(matrix) if matrix else ''}] {step.get('name') or step.get('uses') or step.get('id') or number}"
            step_contexts = {**contexts, "env": env, "job": {"status": "success" if job_ok else "failure"}}
            if not self._condition(step.get("if", "success()"), step_contexts, job_ok=job_ok):
                steps.append(StepResult(label, "skipped"))
                continue
            step_env = {
                **env,
                **{k: _to_string(self.evaluate(v, step_contexts)) for k, v in (step.get("env") or {}).items()},
            }
            self.log.append(f"{label}")
            if "run" in step:
                outcome, outputs, new_env, new_path = self._run_step(
                    step, step_contexts, step_env, workspace, temp, path_extra, defaults
                )
                env.update(new_env)
                path_extra = new_path + path_extra
            else:
                outcome, outputs, added = self._action(step, step_contexts, workspace, root)
                path_extra = added + path_extra
            outcome_seen = "success" if outcome == "failure" and step.get("continue-on-error") else outcome
            if "id" in step:
                contexts["steps"][step["id"]] = {"outputs": outputs, "outcome": outcome, "conclusion": outcome_seen}
            steps.append(StepResult(label, outcome, outputs))
            if outcome_seen == "failure":
                job_ok = False
        job_contexts = {**contexts, "env": env}
        outputs = {k: _to_string(self.evaluate(v, job_contexts)) for k, v in (job.get("outputs") or {}).items()}
        return JobResult(name, "success" if job_ok else "failure", outputs, steps)

    def _run_step(
        self,
        step: dict[str, Any],
        contexts: dict[str, Any],
        env: dict[str, str],
        workspace: Path,
        temp: Path,
        path_extra: list[str],
        defaults: dict[str, Any],
    ) -> tuple[str, dict[str, str], dict[str, str], list[str]]:
        script = str(step["run"])
        if "${{" in script:
            script = self.substitute(script, contexts)
        files = {
            name: temp / f"{name.lower()}-{next(self._jobs_started)}"
            for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
        }
        for file in files.values():
            file.touch()
        script_file = temp / f"step-{next(self._jobs_started)}.sh"
        script_file.write_text(script, encoding="utf-8")
        shell = step.get("shell") or defaults.get("shell")
        argv = (
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)]
            if shell == "bash"
            else ["bash", "-e", str(script_file)]
        )
        if shell not in (None, "bash"):
            raise ExpressionError(f"shell {shell!r} is not supported here")
        cwd = workspace / str(
            self.evaluate(step.get("working-directory") or defaults.get("working-directory") or ".", contexts)
        )
        full_env = self._process_env(contexts, workspace, temp, path_extra)
        full_env.update(env)
        full_env.update({name: str(file) for name, file in files.items()})
        timeout = float(self.evaluate(step.get("timeout-minutes", 360), contexts)) * 60
        try:
            done = subprocess.run(
                argv,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            output, code = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            output, code = _text(exc.stdout) + _text(exc.stderr) + f"\n[harness] step timed out after {timeout:g}s", 124
        self._read_commands(output)
        summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        if summary:
            self.summaries.append(summary)
        new_path = [line for line in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines() if line]
        return (
            "success" if code == 0 else "failure",
            _read_file_commands(files["GITHUB_OUTPUT"]),
            _read_file_commands(files["GITHUB_ENV"]),
            new_path,
        )

    def _process_env(
        self, contexts: dict[str, Any], workspace: Path, temp: Path, path_extra: list[str]
    ) -> dict[str, str]:
        github = contexts["github"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "PYTEST_", "GOLIVE_"))}
        env.pop("VIRTUAL_ENV", None)
        env.update(self.environ)
        env.update(
            {
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(workspace),
                "GITHUB_REF": github["ref"],
                "GITHUB_REF_NAME": github["ref_name"],
                "GITHUB_REF_TYPE": github["ref_type"],
                "GITHUB_SHA": github["sha"],
                "GITHUB_REPOSITORY": github["repository"],
                "GITHUB_EVENT_NAME": github["event_name"],
                "GITHUB_JOB": github.get("job", ""),
                "RUNNER_TEMP": str(temp),
                "RUNNER_OS": "Linux",
                "HOME": os.environ.get("HOME", str(temp)),
            }
        )
        env["PATH"] = os.pathsep.join([*map(str, self.extra_path), *path_extra, env.get("PATH", "")])
        return env

    def _read_commands(self, output: str) -> None:
        for line in output.splitlines():
            self.log.append(line)
            match = re.match(r"::(error|warning|notice)(?: (?P<props>[^:]*))?::(?P<message>.*)", line)
            if match:
                props = dict(part.split("=", 1) for part in (match.group("props") or "").split(",") if "=" in part)
                line_no = props.get("line")
                self.annotations.append(
                    Annotation(
                        match.group(1), props.get("file"), int(line_no) if line_no else None, match.group("message")
                    )
                )
            elif line.startswith("::add-mask::"):
                self.masks.append(line[len("::add-mask::") :])

    # -- actions, by their documented effect

    def _action(
        self, step: dict[str, Any], contexts: dict[str, Any], workspace: Path, root: Path
    ) -> tuple[str, dict[str, str], list[str]]:
        uses = str(step["uses"])
        action = uses.split("@", maxsplit=1)[0]
        if "@" in uses and not re.fullmatch(r"[0-9a-f]{40}", uses.split("@")[1]):
            raise ExpressionError(f"{uses}: actions are pinned by full commit SHA in this project")
        params = {k: _to_string(self.evaluate(v, contexts)) for k, v in (step.get("with") or {}).items()}
        if action == "actions/checkout":
            _copy_tree(self.repo, workspace)
            return "success", {}, []
        if action == "actions/setup-python":
            venv = root / "python"
            make_python(venv)
            return "success", {"python-version": sys.version.split()[0]}, [str(venv / "bin")]
        if action == "actions/cache":
            return "success", {"cache-hit": "false"}, []
        if action == "actions/upload-artifact":
            return self._upload(params, workspace), {}, []
        if action == "actions/download-artifact":
            return self._download(params, workspace), {}, []
        raise ExpressionError(f"the harness does not know the action {action}")

    def _upload(self, params: dict[str, str], workspace: Path) -> str:
        files: list[Path] = []
        for pattern in (p.strip() for p in params["path"].splitlines() if p.strip()):
            target = Path(pattern) if Path(pattern).is_absolute() else workspace / pattern
            if target.is_dir():
                files.extend(f for f in target.rglob("*") if f.is_file())
            else:
                files.extend(
                    f for f in target.parent.glob(target.name) if f.is_file()
                ) if target.parent.is_dir() else None
        if not files:
            if params.get("if-no-files-found", "warn") == "error":
                self.log.append(f"[harness] upload-artifact {params['name']}: no files found")
                return "failure"
            return "success"
        common = Path(os.path.commonpath([str(f.parent) for f in files]))
        destination = self.artifacts / params["name"]
        if destination.exists():
            self.log.append(f"[harness] upload-artifact: an artifact named {params['name']} exists already")
            return "failure"
        for file in files:
            copy = destination / file.relative_to(common)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, copy)
        return "success"

    def _download(self, params: dict[str, str], workspace: Path) -> str:
        target = workspace / params.get("path", ".")
        if params.get("name"):
            source = self.artifacts / params["name"]
            if not source.is_dir():
                self.log.append(f"[harness] download-artifact: no artifact named {params['name']}")
                return "failure"
            shutil.copytree(source, target, dirs_exist_ok=True)
            return "success"
        pattern = params.get("pattern", "*")
        for source in sorted(self.artifacts.glob("*")) if self.artifacts.is_dir() else []:
            if fnmatch.fnmatch(source.name, pattern):
                into = target if params.get("merge-multiple") == "true" else target / source.name
                shutil.copytree(source, into, dirs_exist_ok=True)
        return "success"

    # -- expressions

    def _contexts(self, inputs: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
        event = {"ref": "refs/heads/main", "event_name": "push", "repository": "owner/repo", "sha": "0" * 40}
        event.update(self.event)
        ref = event["ref"]
        github = {
            **event,
            "ref_name": ref.split("/", 2)[-1],
            "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
            "token": "harness-token-not-valid",
        }
        return {"inputs": inputs, "secrets": secrets, "github": github, "env": {}, "vars": {}}

    def evaluate(self, value: Any, contexts: Mapping[str, Any]) -> Any:
        """Expressions inside a value; a string that is one whole expression keeps its type."""
        if isinstance(value, dict):
            return {k: self.evaluate(v, contexts) for k, v in value.items()}
        if isinstance(value, list):
            return [self.evaluate(v, contexts) for v in value]
        if not isinstance(value, str) or "${{" not in value:
            return value
        whole = _EXPRESSION.fullmatch(value.strip())
        if whole:
            return self._expression(whole.group(1), contexts)
        return self.substitute(value, contexts)

    def substitute(self, text: str, contexts: Mapping[str, Any]) -> str:
        return _EXPRESSION.sub(lambda m: _to_string(self._expression(m.group(1), contexts)), text)

    def _condition(self, condition: Any, contexts: Mapping[str, Any], *, job_ok: bool) -> bool:
        if isinstance(condition, bool):
            return condition
        text = str(condition).strip()
        whole = _EXPRESSION.fullmatch(text)
        text = whole.group(1) if whole else text
        if not re.search(r"\b(always|success|failure|cancelled)\(", text):
            text = f"success() && ({text})"
        return bool(self._expression(text, contexts, job_ok=job_ok))

    def _expression(self, text: str, contexts: Mapping[str, Any], *, job_ok: bool = True) -> Any:
        functions: dict[str, Callable[..., Any]] = {
            "always": lambda: True,
            "success": lambda: job_ok,
            "failure": lambda: not job_ok,
            "cancelled": lambda: False,
            "fromjson": json.loads,
            "tojson": lambda v: json.dumps(v, indent=2),
            "startswith": lambda a, b: _to_string(a).lower().startswith(_to_string(b).lower()),
            "endswith": lambda a, b: _to_string(a).lower().endswith(_to_string(b).lower()),
            "contains": lambda a, b: (
                (b in a) if isinstance(a, list) else _to_string(b).lower() in _to_string(a).lower()
            ),
            "format": lambda f, *args: re.sub(r"\{(\d+)\}", lambda m: _to_string(args[int(m.group(1))]), f),
            "hashfiles": lambda *patterns: "harness-hash",
        }
        return _Parser(text, contexts, functions).parse()


# --- helpers --------------------------------------------------------------------------


def make_python(venv: Path) -> None:
    """A virtualenv of this interpreter that also sees this test run's packages: the
    runner's Python, with a warm cache for the project's dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site_packages / "zz-harness-runner.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")


def _typed(value: Any, kind: str) -> Any:
    if value is None:
        return "" if kind == "string" else value
    if kind == "number":
        return int(value) if float(value).is_integer() else float(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return value if isinstance(value, str) else _to_string(value)


def _job_order(jobs: dict[str, Any]) -> list[str]:
    order: list[str] = []
    pending = dict(jobs)
    while pending:
        ready = [
            name
            for name, job in pending.items()
            if all(n in order for n in ([job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", [])))
        ]
        if not ready:
            raise ExpressionError(f"jobs {sorted(pending)} need each other")
        for name in ready:
            order.append(name)
            del pending[name]
    return order


def _combinations(matrix: Any) -> list[dict[str, Any]]:
    if not matrix:
        return [{}]
    if not isinstance(matrix, dict) or set(matrix) & {"include", "exclude"}:
        raise ExpressionError(f"matrix {matrix!r}: only plain lists are supported here")
    keys = list(matrix)
    return [dict(zip(keys, values, strict=False)) for values in itertools.product(*(matrix[k] for k in keys))]


def _read_file_commands(path: Path) -> dict[str, str]:
    """NAME=value lines and NAME<<DELIMITER blocks, as GITHUB_OUTPUT and GITHUB_ENV hold them."""
    found: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for more in lines:
                if more == delimiter:
                    break
                body.append(more)
            found[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            found[name] = value
    return found


def _copy_tree(repo: Path, target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = repo / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
