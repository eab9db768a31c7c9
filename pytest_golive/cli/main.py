"""``golive``: validate checklists, print the schema, list the check kinds.

Exit codes: 0 success, 1 a failing verdict, 2 bad usage or invalid input, 141 (as for a
writer ended by SIGPIPE) when the reader of its output went away (``golive schema | head``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from .. import __version__
from ..checklist import Checklist, ChecklistError, GatePolicy, compose, load_checklist
from ..checklist.durations import parse_duration
from ..checklist.errors import printable
from ..checklist.signoffs import Release
from ..checks import KindRegistryError, Redactor, load_kind_schemas, load_kinds
from ..formats.coverage import line_hits, total_percent
from ..formats.coverage_provenance import StampRefused, stamp_here
from ..formats.errors import UnusableInput
from ..formats.inputs import MAX_WHOLE_BYTES, check_input
from ..formats.junit import JUnitResults, read_junit
from ..formats.properties import CHECKLIST_PATH_PROPERTY
from ..gate import evidence, html, report
from ..gate.baseline import Signoffs
from ..gate.binding import bind
from ..gate.diffcov import changed_lines, diff_coverage
from ..gate.explain import explain
from ..gate.identity import IDENTITY_PROPERTY, checklist_identity, digest_of
from ..gate.load_shares import with_shares_merged
from ..gate.provenance import current_commit, current_tag
from ..gate.verdict import Verdict, decide, merge_policies
from ..plugin.discovery import is_checklist_path
from ..plugin.options import PROVIDERS
from ..services.cleanup import Policy, cleanup, summary_lines
from ..services.runstate import new_run_id
from . import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from .isolated import run

EXIT_BROKEN_PIPE = 128 + 13  # 128 + SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["run"] and not set(arguments[1:2]) & {"-h", "--help"}:
        return run(arguments[1:])  # the rest is pytest's: argparse must not read its options
    parser = _parser()
    args = parser.parse_args(arguments)
    try:
        return int(args.handler(args))
    except KindRegistryError as exc:
        print(f"golive: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("golive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """A quiet exit, not a traceback; never 0, so a gate piped into ``head`` fails closed.

    Output still buffered would fail again at interpreter exit: stdout points at
    /dev/null from here on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="golive", description="Executable go-live checklists for pytest.")
    parser.add_argument("--version", action="version", version=f"pytest-golive {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a checklist with pytest, apart from the project's own pytest configuration and conftest.py",
        description="golive run [CHECKLIST] [PYTEST ARGS]: pytest on CHECKLIST (default golive.yaml) with "
        "golive's own empty ini (-c), the checklist's folder as rootdir and --noconftest, so the project's "
        "addopts, plugins and conftest.py files (written for its own tests) stay out. Every other argument "
        "goes to pytest as written (-m smoke, -n 4, --junitxml=..., --golive-provider local).",
    )
    run.add_argument("checklist", nargs="?", metavar="CHECKLIST", help="the checklist (default: golive.yaml)")
    run.add_argument("pytest_args", nargs="*", metavar="PYTEST ARGS", help="passed on to pytest")

    validate = commands.add_parser("validate", help="check checklists without running them (exit 2 when invalid)")
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="checklist files or folders to search")
    validate.set_defaults(handler=_validate)

    schema = commands.add_parser("schema", help="print the checklist JSON Schema, with installed plugin kinds")
    schema.set_defaults(handler=_schema)

    kinds = commands.add_parser("kinds", help="list the available check kinds")
    kinds.set_defaults(handler=_kinds)

    gate = commands.add_parser(
        "gate", help="one verdict from JUnit files, coverage and a baseline (exit 0 pass, 1 fail, 2 unusable input)"
    )
    gate.add_argument("junit", nargs="+", metavar="JUNIT", help="JUnit XML files or globs (shards are merged)")
    gate.add_argument(
        "--checklist",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="the checklist whose gates: policy applies and whose every item must appear (repeatable)",
    )
    gate.add_argument("--coverage", type=Path, metavar="FILE", help="coverage.xml or a .coverage data file")
    gate.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="the previous release's evidence bundle (default: the newest passing one gates.baseline.from matches)",
    )
    gate.add_argument(
        "--release",
        metavar="NAME",
        help="the release that sign-offs of inconclusive baseline comparisons name, as pytest's --golive-release "
        "(default: the commit and its tag)",
    )
    gate.add_argument(
        "--diff-base",
        metavar="REF",
        help="measure coverage of the lines changed since the merge-base with REF (needs coverage.xml)",
    )
    gate.add_argument("--evidence", type=Path, metavar="OUT", help="write this run's evidence bundle here")
    gate.add_argument("--summary", type=Path, metavar="OUT", help="write the Markdown summary here")
    gate.add_argument("--html", type=Path, metavar="OUT", help="write a self-contained HTML report here")
    gate.add_argument(
        "--release-tag",
        action="store_true",
        help="validate a release: a missing baseline fails (default: on when GITHUB_REF is a tag)",
    )
    gate.add_argument(
        "--explain",
        metavar="CHECK",
        help="also say why CHECK (a check id, test id or name) counted as it did: its source files, "
        "duplicates merged, reruns and the policy rule applied",
    )
    gate.set_defaults(handler=_gate)

    stamp = commands.add_parser(
        "stamp-coverage",
        help="bind a coverage.xml made in this job to the commit checked out, for release gates "
        "(exit 1 when it measured other code)",
    )
    stamp.add_argument("coverage", type=Path, metavar="FILE", help="a Cobertura coverage.xml (coverage xml)")
    stamp.set_defaults(handler=_stamp_coverage)

    init = commands.add_parser(
        "init", help="inspect a repository (without running it) and write a starting golive.yaml and CI workflow"
    )
    init.add_argument(
        "path", nargs="?", type=Path, default=Path("."), metavar="PATH", help="the repository (default: .)"
    )
    init.add_argument("--force", action="store_true", help="overwrite golive.yaml and .github/workflows/golive.yml")
    init.set_defaults(handler=_init)

    doctor = commands.add_parser(
        "doctor", help="check that this machine can run a checklist, with a fix for each problem (exit 1 on problems)"
    )
    doctor.add_argument("checklist", nargs="?", type=Path, default=Path("golive.yaml"), metavar="CHECKLIST")
    doctor.add_argument("--provider", choices=PROVIDERS, default=None, help="the --golive-provider you will run with")
    doctor.set_defaults(handler=_doctor)

    cleanup = commands.add_parser(
        "cleanup",
        help="remove what killed runs left: containers, server processes, data folders",
        description=CLEANUP_POLICY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cleanup.add_argument(
        "--older-than",
        metavar="DURATION",
        help="also remove runs and containers created longer ago than this (e.g. 30m, 12h), alive or not",
    )
    cleanup.add_argument(
        "--run", action="append", default=[], metavar="RUN_ID", help="also remove this run's resources (repeatable)"
    )
    cleanup.add_argument("--dry-run", action="store_true", help="say what would be removed and left; remove nothing")
    cleanup.set_defaults(handler=_cleanup)

    images = commands.add_parser("images", help="service images for Docker engines that cannot pull")
    image_commands = images.add_subparsers(dest="images_command", required=True, metavar="COMMAND")
    about = "build golive-local/postgres:15 and golive-local/redis:7 from Debian packages (mmdebstrap)"
    build = image_commands.add_parser("build", help=about, description=about)
    build.add_argument("--force", action="store_true", help="build again even when the images exist")
    build.set_defaults(handler=_images_build)
    return parser


def _images_build(args: argparse.Namespace) -> int:
    from ..services.errors import ProvisionError  # noqa: PLC0415  (only this command needs docker)
    from ..services.images import build_images  # noqa: PLC0415

    try:
        build_images(force=args.force)
    except ProvisionError as exc:
        print(f"golive images build: {exc}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def _stamp_coverage(args: argparse.Namespace) -> int:
    commit = current_commit(Path.cwd())
    if commit is None:
        print(
            "golive stamp-coverage: no commit to bind to: run it in the git checkout, "
            "or set GOLIVE_COMMIT or GITHUB_SHA",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.coverage.suffix != ".xml":
        print(f"golive stamp-coverage: {args.coverage}: give the Cobertura report (coverage xml)", file=sys.stderr)
        return EXIT_USAGE
    try:
        total_percent(args.coverage)  # a stamp only on a report the gate can read
        stamp = stamp_here(args.coverage, commit, new_run_id())
    except UnusableInput as exc:
        print(f"golive stamp-coverage: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except StampRefused as exc:
        print(f"golive stamp-coverage: refused: {printable(str(exc))}", file=sys.stderr)
        return EXIT_FAIL
    print(f"golive: {args.coverage} bound to commit {commit[:12]}, measured at {stamp.run_at} (run {stamp.run_id})")
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    from ..onboarding.detect import inspect_project  # noqa: PLC0415  (only init needs the detectors)
    from ..onboarding.render import render_checklist, render_workflow  # noqa: PLC0415
    from ..onboarding.sources import repository_root  # noqa: PLC0415

    root: Path = args.path
    if not root.is_dir():
        print(f"golive: {root}: not a folder (give the repository to inspect)", file=sys.stderr)
        return EXIT_USAGE
    # GitHub runs only the workflows at the repository's root: an app in backend/ gets its
    # workflow there, running the checklist by its path from that root
    repository = repository_root(root)
    shown = os.path.relpath(repository, Path.cwd()) if repository != root.absolute() else str(root)
    targets = {root / "golive.yaml": root, Path(shown) / ".github" / "workflows" / "golive.yml": Path(shown)}
    blocked = next(filter(None, (_blocked_target(path, base) for path, base in targets.items())), None)
    if blocked:
        print(f"golive: {blocked}", file=sys.stderr)
        return EXIT_USAGE
    existing = [path for path in targets if path.exists()]
    if existing and not args.force:
        names = ", ".join(str(path) for path in existing)
        print(f"golive: {names} already exists; not overwritten (use --force)", file=sys.stderr)
        return EXIT_USAGE
    project = inspect_project(root)
    print(f"golive init: inspected {root.resolve()} (nothing was run)")
    for fact in project.facts:
        print(f"  {fact.topic:15} {fact.value:50} {fact.confidence:6} {fact.evidence}")
    checklist_path, workflow_path = list(targets)
    try:
        checklist_path.write_text(render_checklist(project), encoding="utf-8")
        workflow_path.parent.mkdir(parents=True, exist_ok=True)
        app_folder = Path(os.path.relpath(root.absolute(), repository)).as_posix()
        checklist_in_repository = (PurePosixPath(app_folder) / "golive.yaml").as_posix()
        workflow_path.write_text(render_workflow(checklist_in_repository, app_folder), encoding="utf-8")
    except OSError as exc:  # read-only, full: say which file
        print(f"golive: {exc.filename}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        checklist = load_checklist(checklist_path, load_kind_schemas())
    except ChecklistError as exc:  # a bug in init: say so plainly rather than leave a broken file unnoticed
        print(f"golive: the written checklist does not validate: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(f"wrote {checklist_path} ({len(checklist.checks)} checks) and {workflow_path}")
    print(f"next: golive doctor {checklist_path}; then golive run {checklist_path} --golive-gate (the verdict)")
    return EXIT_OK


def _blocked_target(path: Path, root: Path) -> str | None:
    """Why init cannot write ``path`` even with --force: a folder where the file goes, or a
    file where one of its folders goes. Checked before anything is written."""
    if path.exists() and not path.is_file():
        return f"{path}: not a file, so init cannot write it (remove it first)"
    for folder in reversed(path.relative_to(root).parents):
        if (root / folder).exists() and not (root / folder).is_dir():
            return f"{root / folder}: a file where init needs a folder for {path}"
    return None


def _doctor(args: argparse.Namespace) -> int:
    from ..onboarding.doctor import FAIL, diagnose, format_report  # noqa: PLC0415  (only doctor needs it)

    try:
        checklist = load_checklist(args.checklist, load_kind_schemas())
    except ChecklistError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    found = diagnose(checklist, args.checklist.read_text(encoding="utf-8"), provider=args.provider)
    print(format_report(found, args.checklist))
    return EXIT_FAIL if any(item.status == FAIL for item in found) else EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    schemas = load_kind_schemas()
    files = list(_checklist_files(args.paths))
    if not files:
        print(f"golive: no checklist found in {', '.join(map(str, args.paths))}", file=sys.stderr)
        return EXIT_USAGE
    failed = False
    for path in files:
        try:
            checklist = load_checklist(path, schemas)
        except ChecklistError as exc:
            print(exc, file=sys.stderr)
            failed = True
            continue
        items = sum(check.item_count for check in checklist.checks)
        print(printable(f"ok {path}: {len(checklist.checks)} checks, {items} items"))
    return EXIT_USAGE if failed else EXIT_OK


def _checklist_files(paths: Iterable[Path]) -> Iterable[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and is_checklist_path(p))
        else:
            yield path  # a missing file is reported by the loader, with its name


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(compose(load_kind_schemas()), indent=2))
    return EXIT_OK


def _kinds(args: argparse.Namespace) -> int:
    for name, kind in load_kinds().items():
        doc = (type(kind).__doc__ or "").strip().splitlines()
        print(f"{name:10} {doc[0] if doc else ''}")
    return EXIT_OK


def _gate(args: argparse.Namespace) -> int:
    try:
        for path in args.checklist:
            check_input(path, MAX_WHOLE_BYTES)  # a FIFO or device is refused before anything opens it
        checklists = [load_checklist(path, load_kind_schemas()) for path in args.checklist]
        results = read_junit(args.junit, follow=args.explain)
        if not args.checklist:
            checklists = _named_checklists(results, Path.cwd())
        coverage = total_percent(args.coverage) if args.coverage else None
        policy = merge_policies(c.gates for c in checklists)
        repository = args.checklist[0].resolve().parent if args.checklist else Path.cwd()
        found = (args.baseline, evidence.load(args.baseline)) if args.baseline else None
        if found is None and policy.baseline_from:
            found = evidence.find(policy.baseline_from)
        signoffs = None
        if policy.rank is not None:
            signing = Release(name=args.release) if args.release else _release(repository)
            signoffs = Signoffs(checklists, signing)
        diff = None
        if args.diff_base:
            if not args.coverage:
                raise UnusableInput("--diff-base needs --coverage coverage.xml")
            diff = diff_coverage(changed_lines(args.diff_base, Path.cwd()), line_hits(args.coverage))
    except (UnusableInput, ChecklistError) as exc:
        print(f"golive gate: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    hide = Redactor(os.environ)  # JUnit from other tools may hold this job's secrets: none reach a report
    cases = [
        dataclasses.replace(
            case, name=hide(case.name), message=hide(case.message), properties=hide.data(case.properties)
        )
        for case in with_shares_merged([*results.cases.values(), *results.shares])
    ]
    release = args.release_tag or os.environ.get("GITHUB_REF", "").startswith("refs/tags/")
    binding = bind(
        results,
        checklists,
        policy,
        commit=current_commit(repository),
        release=release,
        coverage=args.coverage,
        baseline=found,
    )
    binding.refusals = [hide(refusal) for refusal in binding.refusals]
    verdict = decide(
        cases,
        policy,
        checklists=checklists,
        coverage=coverage,
        diff=diff,
        baseline=found[1] if found else None,
        baseline_source=str(found[0]) if found else policy.baseline_from,
        release_tag=release,
        problems=[hide(problem) for problem in results.problems],
        notes=[hide(note) for note in results.notes],
        binding=binding,
        signoffs=signoffs,
    )
    print(report.terminal(verdict))
    if args.explain is not None:
        lines = explain(args.explain, results.followed, verdict, policy)
        if not lines:
            print(
                f"golive gate: --explain {_one_line(args.explain)!r}: no result of that check or test", file=sys.stderr
            )
            return EXIT_USAGE
        print("\n".join(hide(line) for line in lines))
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print("\n".join(report.github_annotations(verdict)))
    unwritten = _write_reports(args, verdict, checklists=checklists, policy=policy, repository=repository, found=found)
    if unwritten:
        print(f"golive gate: {unwritten}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if verdict.passed else EXIT_FAIL


def _named_checklists(results: JUnitResults, folder: Path) -> list[Checklist]:
    """Without ``--checklist``: the checklists the results name (``golive.checklist_path``,
    from where pytest ran), each taken only when it declares what the results say it does.
    A run narrowed with ``-k`` then fails for the items it left out, as under ``--checklist``;
    one whose checklist is not here is gated on its results alone, with a warning that says so."""
    named: dict[str, set[str]] = {}
    for case in results.cases.values():
        path, identity = case.properties.get(CHECKLIST_PATH_PROPERTY), case.properties.get(IDENTITY_PROPERTY)
        if path and identity:
            named.setdefault(path, set()).add(digest_of(identity))
    found = []
    for path, digests in sorted(named.items()):
        try:
            checklist = load_checklist(folder / path, load_kind_schemas())
        except ChecklistError:
            checklist = None
        if checklist is not None and digest_of(checklist_identity(checklist)) in digests:
            print(printable(f"golive gate: gated against {path}, the checklist the results name (or give --checklist)"))
            found.append(checklist)
        else:
            results.notes.append(
                f"the results come from checklist {path}, which is not here as they ran it: checks that did not "
                f"run are not known (give --checklist {path})"
            )
    return found


def _write_reports(
    args: argparse.Namespace,
    verdict: Verdict,
    *,
    checklists: list[Checklist],
    policy: GatePolicy,
    repository: Path,
    found: tuple[Path, dict[str, Any]] | None,
) -> str | None:
    """Write the summary, evidence and HTML report asked for. A place that cannot take one (a
    folder, read-only, missing) means the verdict was not delivered: the line saying which."""
    summary = report.markdown(verdict)

    def write_html(path: Path) -> None:
        record = html.Record(checklists, policy, tag=current_tag(repository), baseline=found[1] if found else None)
        _write_text(path, html.render(verdict, verdict.cases, record))

    writers: list[tuple[str, str | Path | None, Callable[[Path], None]]] = [
        ("--summary", args.summary, lambda path: _append(path, summary)),
        ("GITHUB_STEP_SUMMARY", os.environ.get("GITHUB_STEP_SUMMARY"), lambda path: _append(path, summary)),
        (
            "--evidence",
            args.evidence,
            lambda path: evidence.write(evidence.build(verdict, verdict.cases, checklists), path),
        ),
        ("--html", args.html, write_html),
    ]
    for option, target, write in writers:
        if not target:
            continue
        try:
            write(Path(target))
        except OSError as exc:
            return f"{option} {_one_line(str(target))}: cannot write: {exc.strerror or exc}"
    return None


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _release(repository: Path) -> Release:
    """The release being gated when no --release names it: the commit, and its tag."""
    commit, tag = current_commit(repository), current_tag(repository)
    return Release(commit=commit.lower() if commit else None, tags=frozenset([tag] if tag else []))


def _one_line(text: str) -> str:
    """An input's own text (a file name, an attribute) may hold line breaks: the error stays one line."""
    return " ".join(text.split("\n")).replace("\r", " ")


CLEANUP_POLICY = """\
Remove what runs left behind (containers, server processes, data folders), but only what
is provably abandoned. The Docker engine and this machine may be shared by other runs
(other CI jobs, other users, other runs folders), so a run's folder or container is
removed only when:
  - its owner process is gone: the pid, kernel start time and boot id recorded when the
    run started (owner.json, and labels on its containers), checked on this host;
  - or it was created longer ago than --older-than;
  - or its run is named with --run.
Everything else is left and the reason printed: its run is alive, it belongs to another
host (whose processes cannot be checked from here), or it has no owner record.
Exit status: 0, or 1 when something could not be removed."""


def _cleanup(args: argparse.Namespace) -> int:
    try:
        older_than = parse_duration(args.older_than) if args.older_than else None
    except ValueError as exc:
        print(f"golive cleanup: --older-than: {exc}", file=sys.stderr)
        return EXIT_USAGE
    policy = Policy(older_than, frozenset(args.run), args.dry_run)
    found = cleanup(policy)
    for line in summary_lines(found, args.dry_run):
        print(f"golive cleanup: {line}")
    for problem in found.problems:
        print(f"golive cleanup: {problem}", file=sys.stderr)
    return EXIT_FAIL if found.problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
