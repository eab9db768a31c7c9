"""Mutated checklists against the loader: none may cause a traceback, a hang, a huge
allocation, or an error that is not one ``file:line:col:`` line per problem.

Mutants start from the valid checklists of the repository (fixtures, the shop, the
built-in suites) and change bytes, tokens, structures, tags, anchors, nesting and sizes,
from a seed, so a run can be repeated. Each goes through ``load_checklist`` in a worker
process that limits its address space and the time of each mutant; a sample also goes
through ``pytest --collect-only``. tests/test_fuzz_checklists.py runs a few hundred on
every test run; this script prints the figures for thousands:

    python scripts/fuzz_checklists.py [--mutants 5000] [--seed 1] [--collect 100]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted(
    [
        *(ROOT / "fixtures" / "checklists" / "valid").glob("*.yaml"),
        ROOT / "fixtures" / "shop" / "golive.yaml",
        ROOT / "fixtures" / "demo" / "golive.yaml",
        *(ROOT / "suites").glob("*.yaml"),
    ]
)
#: A mutant that takes longer than this is a hang (the issue counted over 20 s as one).
SECONDS_EACH = 10.0
#: How much a worker may allocate beyond what it holds when it starts.
MEMORY_HEADROOM = 1024 * 1024 * 1024

VERDICTS = ("ok", "located error", "traceback", "hang", "memory", "not one line per error", "crash")

HOSTILE_SCALARS = (
    "9" * 5000,
    "-" + "1" * 4400,
    "!!float xyz",
    "!!int abc",
    "!!bool maybe",
    "!!timestamp 2024-13-45",
    "!!binary not*base64",
    "!!python/object:os.system x",
    "!!set {a, b}",
    "!!omap [a, b]",
    "!custom x",
    "*undefined",
    ".nan",
    "-.inf",
    "~",
    "[]",
    "{}",
    "'{{ env.HOME + 1 }}'",
    "'{{ 9 ** 999999 }}'",
    "\"{{ 'x' * 10000000000 }}\"",
    "'{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}'",
    "'{{ nope.at.all }}'",
    "'{{ unclosed'",
    "'{% for x in y %}'",
    "99999999999h",
    "0/s",
    "999999999999/s",
    "0.0000001ms",
    "'<= abc'",
    "'!='",
    "{match: '(('}",
    "{match: 'a{4294967295}'}",
    "{match: '(a+)+$'}",
    "{match: '(?i)x'}",
    "{match: '(?P<n>x)'}",
    "{match: '(?=x)'}",
    "{match: '\\\\'}",
    "{contains: []}",
    "{one_of: []}",
    "'up{job=~\"((\"}'",
    '"a\\nb"',
    '"\\u202e\\x07\\x1b[31m"',
    '"\\0"',
    "x" * 100_000,
    "-1",
    "0",
    "65536",
    "1e309",
    "true",
    "<<",
    "=",
    "|\n  block\n  text",
    ">-\n  folded",
)
HOSTILE_KEYS = (
    '"bad\\nkey"',
    '"tab\\tkey"',
    '"\\u202ekey"',
    "<<",
    "x-note",
    "? [complex]",
    "? {a: 1}",
    "*undefined",
    "1",
    "null",
    "true",
    "'<<'",
    "id",
    "golive",
    "checks",
    "include",
    "params",
)
JUNK = (
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\ufeff",
    "\ud7ff",
    "\t",
    "\r",
    "\n",
    "'",
    '"',
    "[",
    "]",
    "{",
    "}",
    ":",
    "- ",
    "? ",
    "&a ",
    "*a",
    "!",
    "!!",
    "|",
    ">",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "#",
    "@",
    "`",
    "{{",
    "}}",
    "{%",
    "<<: ",
    "\\",
)
#: Special files a mutant may be, or include: made once per run folder.
SPECIAL_FILES = ("fifo.yaml", "loop.yaml", "zero.yaml", "directory.yaml", "big.yaml", "chain-0.yaml")


@dataclass(frozen=True)
class Outcome:
    name: str
    verdict: str
    detail: str = ""


class Mutator:
    """Seeded mutations of the seed checklists."""

    def __init__(self, seed: int, *, largest: int = 20_000) -> None:
        self.rng = random.Random(seed)
        self.largest = largest  # the most checks one mutant grows by
        self.seeds = [path.read_text(encoding="utf-8") for path in SEEDS]
        self.mutations: list[Callable[[str], str]] = [
            self.flip_bytes,
            self.insert_junk,
            self.delete_span,
            self.duplicate_span,
            self.truncate,
            self.replace_scalar,
            self.replace_key,
            self.reindent,
            self.nest,
            self.alias_bomb,
            self.merge_bomb,
            self.recursive_alias,
            self.merge_keys,
            self.params_explosion,
            self.include_hostile,
            self.swap_lines,
            self.grow,
        ]

    def mutant(self) -> str:
        text = self.rng.choice(self.seeds)
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
            text = self.rng.choice(self.mutations)(text)
        return text

    def _span(self, text: str) -> tuple[int, int]:
        start = self.rng.randrange(len(text) + 1)
        return start, min(len(text), start + self.rng.choice((1, 2, 5, 20, 200)))

    def _line_index(self, lines: list[str]) -> int:
        return self.rng.randrange(len(lines)) if lines else 0

    def flip_bytes(self, text: str) -> str:
        data = bytearray(text.encode("utf-8", "surrogateescape"))
        for _ in range(self.rng.choice((1, 2, 8))):
            if data:
                data[self.rng.randrange(len(data))] = self.rng.randrange(256)
        return data.decode("utf-8", "surrogateescape")

    def insert_junk(self, text: str) -> str:
        at = self.rng.randrange(len(text) + 1)
        return text[:at] + "".join(self.rng.choice(JUNK) for _ in range(self.rng.choice((1, 2, 4)))) + text[at:]

    def delete_span(self, text: str) -> str:
        start, end = self._span(text)
        return text[:start] + text[end:]

    def duplicate_span(self, text: str) -> str:
        start, end = self._span(text)
        return text[:end] + text[start:end] * self.rng.choice((1, 2, 10)) + text[end:]

    def truncate(self, text: str) -> str:
        return text[: self.rng.randrange(len(text) + 1)]

    def replace_scalar(self, text: str) -> str:
        lines = text.splitlines()
        index = self._line_index(lines)
        if not lines:
            return self.rng.choice(HOSTILE_SCALARS)
        line = lines[index]
        cut = line.find(": ") + 2 if ": " in line else line.find("- ") + 2 if "- " in line else len(line)
        lines[index] = line[:cut] + self.rng.choice(HOSTILE_SCALARS)
        return "\n".join(lines) + "\n"

    def replace_key(self, text: str) -> str:
        lines = text.splitlines()
        index = self._line_index(lines)
        if not lines or ":" not in lines[index]:
            return text
        line = lines[index]
        indent = len(line) - len(line.lstrip(" -"))
        lines[index] = line[:indent] + self.rng.choice(HOSTILE_KEYS) + line[line.index(":") :]
        return "\n".join(lines) + "\n"

    def reindent(self, text: str) -> str:
        lines = text.splitlines()
        index = self._line_index(lines)
        if lines:
            lines[index] = " " * self.rng.choice((0, 1, 3, 7)) + lines[index].lstrip()
        return "\n".join(lines) + "\n"

    def nest(self, text: str) -> str:
        depth = self.rng.choice((10, 63, 64, 65, 200, 999, 5000))
        value = self.rng.choice(("[" * depth + "]" * depth, "{a: " * depth + "1" + "}" * depth))
        return text + f"x-deep: {value}\n"

    def alias_bomb(self, text: str) -> str:
        width, depth = self.rng.choice(((9, 9), (10, 6), (3, 30), (100, 4)))
        lines = [f"x-b0: &b0 [{', '.join(['lol'] * width)}]"]
        lines += [f"x-b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * width)}]" for i in range(1, depth)]
        return text + "\n".join(lines) + "\n"

    def merge_bomb(self, text: str) -> str:
        lines = ["x-m0: &m0 {a: 1, b: 2}"]
        lines += [f"x-m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 9)}], k{i}: {i}}}" for i in range(1, 12)]
        return text + "\n".join(lines) + "\n"

    def recursive_alias(self, text: str) -> str:
        return text + self.rng.choice(("x-r: &r [1, *r]\n", "x-r: &r {a: *r}\n", "x-r: &r {<<: *r}\n"))

    def merge_keys(self, text: str) -> str:
        defaults = "x-defaults: &defaults {severity: P0, stage: smoke, tags: [merged]}\n"
        merge = self.rng.choice(("<<: *defaults", "<<: [*defaults, *defaults]", "<<: text", "<<: [1, 2]", "<<: *nope"))
        check = f"  - {merge}\n    id: merged-{self.rng.randrange(1000)}\n    severity: P2\n    command: 'true'\n"
        if "\nchecks:\n" in text:
            return defaults + text.replace("\nchecks:\n", "\nchecks:\n" + check, 1)
        return defaults + text + "checks:\n" + check

    def params_explosion(self, text: str) -> str:
        lists, size = self.rng.choice(((2, 100), (3, 100), (6, 10), (7, 10), (2, 101), (1, 100_000)))
        params = ", ".join(f"p{i}: [{', '.join(str(v) for v in range(size))}]" for i in range(lists))
        check = f"  - id: exploded\n    params: {{{params}}}\n    command: 'true'\n"
        if "\nchecks:\n" in text:
            return text.replace("\nchecks:\n", "\nchecks:\n" + check, 1)
        return text + "checks:\n" + check

    def include_hostile(self, text: str) -> str:
        target = self.rng.choice((*SPECIAL_FILES, "golive:nope", "golive:../suites/smoke", "missing.yaml", "\x00.yaml"))
        return text + f"include: [{target!r}]\n".replace("'", '"')

    def swap_lines(self, text: str) -> str:
        lines = text.splitlines()
        if len(lines) > 1:
            a, b = self._line_index(lines), self._line_index(lines)
            lines[a], lines[b] = lines[b], lines[a]
        return "\n".join(lines) + "\n"

    def grow(self, text: str) -> str:
        times = self.rng.choice([size for size in (100, 2000, 20_000) if size <= self.largest])
        body = "".join(f"  - {{id: g{n}, command: 'true'}}\n" for n in range(times))
        return text + f"x-grown: &g\n{body}"


def make_run_folder(folder: Path) -> None:
    """The special files mutants may be or include."""
    os.mkfifo(folder / "fifo.yaml")
    (folder / "loop.yaml").symlink_to("loop.yaml")
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "directory.yaml").mkdir()
    with (folder / "big.yaml").open("wb") as big:
        big.write(b"golive: 1\n")
        big.truncate(9 * 1024 * 1024)  # sparse
    for index in range(600):
        (folder / f"chain-{index}.yaml").write_text(f"golive: 1\ninclude: [chain-{index + 1}.yaml]\n")
    (folder / "chain-600.yaml").write_text("golive: 1\n")


def write_mutants(folder: Path, count: int, seed: int, *, largest: int = 20_000) -> list[Path]:
    """``count`` mutants in ``folder``; about one in forty is a special file instead of text."""
    make_run_folder(folder)
    mutator = Mutator(seed, largest=largest)
    paths = []
    for index in range(count):
        path = folder / f"m{index:05d}.golive.yaml"
        if mutator.rng.random() < 0.025:
            path.symlink_to(mutator.rng.choice(SPECIAL_FILES))
        else:
            path.write_bytes(mutator.mutant().encode("utf-8", "surrogateescape"))
        paths.append(path)
    return paths


_LOCATED = re.compile(r"^[^\n]+?:\d+:\d+: ")


def judge_error(text: str, problems: int) -> str:
    """An error's text must be one ``file:line:col:`` line per problem, each printable (the
    file is the mutant or one it includes)."""
    lines = text.split("\n")
    if problems == 0 or len(lines) != problems:
        return "not one line per error"
    if all(_LOCATED.match(line) and line.isprintable() for line in lines):
        return "located error"
    return "not one line per error"


class _Hang(BaseException):
    pass


def _worker(connection: Connection, paths: list[Path], seconds: float, headroom: int) -> None:
    """Loads each mutant in this process, under an address-space limit and a per-mutant alarm."""
    from pytest_golive.checklist import ChecklistError, load_checklist  # noqa: PLC0415
    from pytest_golive.checks import load_kind_schemas  # noqa: PLC0415

    kinds = load_kind_schemas()
    pages = int(Path("/proc/self/statm").read_text().split()[0])  # the address space in use now
    limit = pages * resource.getpagesize() + headroom
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))

    def alarm(signum: int, frame: Any) -> None:
        raise _Hang

    signal.signal(signal.SIGALRM, alarm)
    for path in paths:
        verdict, detail = "ok", ""
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            checklist = load_checklist(path, kinds)
            for check in checklist.checks:
                check.instances()  # what collection makes
        except ChecklistError as exc:
            verdict, detail = judge_error(str(exc), len(exc.problems)), str(exc)[:300]
        except _Hang:
            verdict = "hang"
        except MemoryError:
            verdict = "memory"
        except Exception as exc:
            verdict, detail = "traceback", "".join(traceback.format_exception(exc))[-1500:]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        connection.send((verdict, detail))
    connection.close()


def load_mutants(
    paths: list[Path], seconds: float = SECONDS_EACH, headroom: int = MEMORY_HEADROOM
) -> Iterator[Outcome]:
    """Each mutant through the loader in a forked worker; a worker that dies or stops
    answering is replaced, and its mutant counted as a crash or a hang."""
    context = multiprocessing.get_context("fork")
    start = 0
    while start < len(paths):
        receiver, sender = context.Pipe(duplex=False)
        worker = context.Process(target=_worker, args=(sender, paths[start:], seconds, headroom), daemon=True)
        worker.start()
        sender.close()
        index = start
        try:
            while index < len(paths):
                if not receiver.poll(seconds + 30):
                    yield Outcome(paths[index].name, "hang", "the worker stopped answering")
                    break
                try:
                    verdict, detail = receiver.recv()
                except EOFError:
                    yield Outcome(paths[index].name, "crash", f"the worker died (exit {worker.exitcode})")
                    break
                yield Outcome(paths[index].name, verdict, detail)
                index += 1
        finally:
            worker.kill()
            worker.join()
            receiver.close()
        start = index + 1


def collect_mutant(path: Path, timeout: float = 60.0) -> Outcome:
    """One mutant through ``pytest --collect-only`` in a fresh process."""
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", path.name]
    try:
        result = subprocess.run(command, cwd=path.parent, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Outcome(path.name, "hang")
    output = result.stdout + result.stderr
    if "Traceback" in output or "INTERNALERROR" in output:
        return Outcome(path.name, "traceback", output[-1500:])
    if result.returncode == 2:
        located = re.search(r"^[^\s=_!][^\n]*?:\d+:\d+: ", output, re.MULTILINE)
        return Outcome(path.name, "located error" if located else "not one line per error", output[-500:])
    return Outcome(path.name, "ok" if result.returncode in (0, 4, 5) else "crash", output[-500:])


def main() -> int:
    import tempfile  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--collect", type=int, default=100, help="how many of them also go through pytest")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="golive-fuzz-") as tmp:
        paths = write_mutants(Path(tmp), args.mutants, args.seed)
        started = time.perf_counter()
        loaded = list(load_mutants(paths))
        load_seconds = time.perf_counter() - started
        step = max(1, len(paths) // max(1, args.collect))
        collected = [collect_mutant(path) for path in paths[::step][: args.collect]]
    failures = [o for o in loaded + collected if o.verdict not in ("ok", "located error")]
    for label, outcomes in (("loader", loaded), ("pytest --collect-only", collected)):
        counts = Counter(o.verdict for o in outcomes)
        figures = ", ".join(f"{verdict} {counts[verdict]}" for verdict in VERDICTS)
        print(f"{label}: {len(outcomes)} bad checklists tried (seed {args.seed}): {figures}")
    print(f"loader time: {load_seconds:.1f} s for {len(loaded)} mutants")
    for outcome in failures[:20]:
        print(f"  {outcome.name}: {outcome.verdict}: {outcome.detail.strip().splitlines()[-1:]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
