"""``openapi``: the app against its own OpenAPI document, through Schemathesis used as a
library. Each response is checked for a server error, for a status code, content type,
headers and body the document describes, and against a response time limit; every
operation must come with examples. ``mode: examples`` sends one request per documented
example (fast enough for every pull request); ``mode: deep`` adds generated cases and,
with ``stateful: true``, sequences that follow the document's links (for release tags).

Every finding is located (the operation in the document) and comes with a curl line that
reproduces it, credentials masked. Schemathesis is an optional extra, imported only when an
openapi check runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import urlsplit

import requests

from ..checklist import builtin_kind_schema
from ..checklist.comparisons import satisfies
from .base import Kind, Mismatch, Observation, StepContext, StepError, compare, elapsed_ms_since
from .http import absolute_url

if TYPE_CHECKING:
    from schemathesis import APIOperation, BaseSchema, Case, Response
    from schemathesis.core.failures import Failure

_SCHEMA = builtin_kind_schema("openapi")
INSTALL_HINT = "the openapi kind needs Schemathesis: pip install 'pytest-golive[openapi]'"
DEFAULT_MAX_EXAMPLES = 25
#: what each Schemathesis check counts towards, by the check's name
CATEGORIES = {
    "not_a_server_error": "server_errors",
    "status_code_conformance": "undocumented_statuses",
    "content_type_conformance": "schema_mismatches",
    "response_headers_conformance": "schema_mismatches",
    "response_schema_conformance": "schema_mismatches",
    "use_after_free": "link_failures",
    "ensure_resource_availability": "link_failures",
}
#: what a finding of each category failed to be, for its mismatch line
_EXPECTED = {
    "server_errors": "no server error",
    "undocumented_statuses": "a status code the document lists",
    "schema_mismatches": "a response as the document describes it",
    "link_failures": "links that hold (a resource the API created can be used)",
    "missing_examples": "an example for every parameter and request body",
    "max_response_ms": "a faster response",
}
COUNTS = tuple(_EXPECTED)[:5]
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SHOWN = 5  # findings listed under a count that does not hold
_REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Finding:
    """One located mismatch: where in the document, what, and the request that shows it."""

    category: str
    where: str  # the operation, e.g. GET /items/{item_id} (/openapi.json#/paths/~1items~1{item_id}/get)
    what: str
    curl: str

    def mismatch(self) -> Mismatch:
        reproduce = f"; reproduce: {self.curl}" if self.curl else ""
        return Mismatch(f"  {self.where}", _EXPECTED[self.category], f"{self.what}{reproduce}")


class OpenapiKind(Kind):
    """The app against its own OpenAPI document, through Schemathesis."""

    name = "openapi"
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = dict.fromkeys(COUNTS, 0)

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        options: dict[str, Any] = {"url": spec} if isinstance(spec, str) else dict(spec)
        document_url = absolute_url(options["url"], ctx.base_url)
        base_url = absolute_url(options.get("base_url", "/"), ctx.base_url or document_url).rstrip("/")
        headers = {key: str(value) for key, value in options.get("headers", {}).items()}
        for value in headers.values():
            ctx.run.mask(value)  # whatever a checklist sends to every operation is treated as a credential
        start = time.perf_counter()
        document = _fetch(document_url, ctx)
        tester = _Tester(_load(document), base_url, headers, _pointer_base(document_url), ctx)
        tester.findings += missing_examples(document, tester.where)
        tester.examples()
        if options.get("mode") == "deep":
            tester.generated(int(options.get("max_examples", DEFAULT_MAX_EXAMPLES)))
            if options.get("stateful"):
                tester.stateful(int(options.get("max_examples", DEFAULT_MAX_EXAMPLES)))
        elapsed = elapsed_ms_since(start)
        counts = {category: 0 for category in COUNTS}
        for finding in tester.findings:
            counts[finding.category] += 1
        return Observation(
            summary=f"{document_url}: {tester.operations} operations, {tester.requests} requests, "
            f"{len(tester.findings)} findings in {elapsed:.0f} ms",
            result={
                "operations": tester.operations,
                "requests": tester.requests,
                **counts,
                "findings": tester.findings,
                "slowest": tester.slowest,
                "elapsed_ms": elapsed,
            },
            measurements={"latency_ms": round(elapsed, 3), "requests": tester.requests},
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        result = observation.result
        found: list[Mismatch] = []
        if not result["requests"]:  # no request, no finding: every count 0 proves nothing
            found.append(
                Mismatch(
                    "requests",
                    ">= 1 (the document's operations called)",
                    f"0: the document lists {result['operations']} operations",
                )
            )
        for key, expected in expect.items():
            if key == "max_response_ms":
                slowest = result["slowest"]
                if slowest is not None and not satisfies(slowest.elapsed_ms, f"<= {expected}"):
                    found.append(Mismatch(key, f"<= {expected}", f"{slowest.elapsed_ms:.0f} ms"))
                    found.append(slowest.finding.mismatch())
                continue
            mismatch = compare(key, result.get(key), expected)
            if mismatch is None:
                continue
            found.append(mismatch)
            if key in COUNTS:
                listed = [finding for finding in result["findings"] if finding.category == key]
                found += [finding.mismatch() for finding in listed[:_SHOWN]]
                if len(listed) > _SHOWN:
                    found.append(Mismatch(f"  {key}", "none", f"{len(listed) - _SHOWN} more like these"))
        return found


@dataclass(frozen=True)
class Slowest:
    elapsed_ms: float
    finding: Finding


class _Tester:
    """Sends cases of one document's operations and keeps what failed, once per kind of failure."""

    def __init__(
        self, schema: BaseSchema, base_url: str, headers: dict[str, str], pointer_base: str, ctx: StepContext
    ) -> None:
        from schemathesis import GenerationMode  # noqa: PLC0415

        self.schema = schema
        self.base_url = base_url
        self.headers = headers
        self.pointer_base = pointer_base
        self.ctx = ctx
        self.operations = 0
        self.requests = 0
        self.findings: list[Finding] = []
        self.slowest: Slowest | None = None
        self._seen: set[tuple[str, str, str]] = set()
        schema.config.update(base_url=base_url, request_timeout=_REQUEST_TIMEOUT_S)
        # valid requests only (a request off the document is the client's fault, not the API's),
        # in text that UTF-8 can carry, so that every finding is the app's
        # (mypy checks as Python 3.10, whose enum has no StrEnum: GenerationMode's members look like str)
        positive = cast("list[GenerationMode]", [GenerationMode.POSITIVE])
        schema.config.generation.update(modes=positive, codec="utf-8", allow_x00=False)

    def where(self, method: str, path: str) -> str:
        escaped = path.replace("~", "~0").replace("/", "~1")
        return f"{method.upper()} {path} ({self.pointer_base}#/paths/{escaped}/{method.lower()})"

    def operations_of(self) -> Iterator[APIOperation[Any, Any, Any, Any]]:
        from schemathesis.core.result import Ok  # noqa: PLC0415

        for result in self.schema.get_all_operations():
            if not isinstance(result, Ok):  # an operation Schemathesis cannot read is the document's fault
                raise StepError(f"the document has an operation Schemathesis cannot use: {_first_line(result.err())}")
            yield result.ok()

    def examples(self) -> None:
        """Each operation once per documented example; an operation without inputs once."""
        from hypothesis import strategies  # noqa: PLC0415  (Schemathesis depends on Hypothesis)

        for operation in self.operations_of():
            self.operations += 1
            found = operation.get_strategies_from_examples(fill_missing=True)
            if not found and not _required_inputs(operation):
                found = [strategies.just(operation.Case())]
            for strategy in found:
                _draw(strategy, 1, self.send)

    def generated(self, max_examples: int) -> None:
        for operation in self.operations_of():
            _draw(operation.as_strategy(), max_examples, self.send)

    def stateful(self, max_examples: int) -> None:
        """Sequences along the document's links, with the checks that need earlier responses."""
        from hypothesis import HealthCheck, settings  # noqa: PLC0415
        from schemathesis.checks import load_all_checks  # noqa: PLC0415
        from schemathesis.core.failures import FailureGroup  # noqa: PLC0415

        load_all_checks()
        tester = self
        machine = self.schema.as_state_machine()

        class Recording(machine):  # type: ignore[valid-type,misc]
            def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
                return {"headers": tester.headers}

            def call(self, case: Case[Any], **kwargs: Any) -> Response:
                tester.check_time()
                response = case.call(**kwargs)
                tester.requests += 1
                return response

            def validate_response(self, response: Response, case: Case[Any], *args: Any, **kwargs: Any) -> None:
                try:
                    case.validate_response(
                        response, checks=_checks(stateful=True), headers=tester.headers, recorder=self.recorder
                    )
                except FailureGroup as group:
                    tester.record(case, list(group.exceptions))

        Recording.run(
            settings=settings(
                max_examples=max_examples,
                database=None,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                stateful_step_count=6,
            )
        )

    def check_time(self) -> None:
        if self.ctx.remaining() < _REQUEST_TIMEOUT_S / 2:
            raise StepError(
                f"the check's timeout ({self.ctx.timeout_s:g}s) ran out after {self.requests} requests: "
                "set timeout:, or lower max_examples"
            )

    def send(self, case: Case[Any]) -> None:
        from schemathesis.core.failures import FailureGroup  # noqa: PLC0415

        self.check_time()
        start = time.perf_counter()
        try:
            response = case.call(headers=self.headers)
        except requests.RequestException as exc:
            raise StepError(f"{case.operation.label}: {type(exc).__name__}: {_first_line(exc)}") from None
        elapsed = elapsed_ms_since(start)
        self.requests += 1
        if self.slowest is None or elapsed > self.slowest.elapsed_ms:
            where = self.where(case.operation.method, case.operation.path)
            slow = Finding("max_response_ms", where, f"{elapsed:.0f} ms, the slowest response", self.curl(case))
            self.slowest = Slowest(elapsed, slow)
        try:
            case.validate_response(response, checks=_checks(stateful=False), headers=self.headers)
        except FailureGroup as group:
            self.record(case, list(group.exceptions))

    def record(self, case: Case[Any], failures: list[Failure]) -> None:
        """Each failure once; a server error's status is not also counted as undocumented."""
        where = self.where(case.operation.method, case.operation.path)
        categories = [_category(failure) for failure in failures]
        for failure, category in zip(failures, categories, strict=True):
            if category == "undocumented_statuses" and "server_errors" in categories:
                continue
            what = describe_failure(failure)
            if (category, where, what) not in self._seen:
                self._seen.add((category, where, what))
                self.findings.append(Finding(category, where, what, self.curl(case)))

    def curl(self, case: Case[Any]) -> str:
        return case.as_curl_command(headers=self.headers, base_url=self.base_url)


def _draw(strategy: Any, max_examples: int, send: Callable[[Case[Any]], None]) -> None:
    """Hypothesis draws cases and ``send`` sends each; nothing is written to disk and no
    failure is raised through Hypothesis (so it shrinks nothing): findings are recorded."""
    from hypothesis import HealthCheck, Phase, given, settings  # noqa: PLC0415

    @given(strategy)
    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def each(case: Case[Any]) -> None:
        send(case)

    each()


def _checks(*, stateful: bool) -> list[Any]:
    from schemathesis.checks import load_all_checks, not_a_server_error  # noqa: PLC0415
    from schemathesis.specs.openapi import checks  # noqa: PLC0415

    load_all_checks()
    found: list[Any] = [
        not_a_server_error,
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_headers_conformance,
        checks.response_schema_conformance,
    ]
    if stateful:
        found += [checks.use_after_free, checks.ensure_resource_availability]
    return found


def _category(failure: Failure) -> str:
    return next((CATEGORIES[name] for name in failure.checks if name in CATEGORIES), "schema_mismatches")


def describe_failure(failure: Failure) -> str:
    """The failure's title and first line, and for a body off its schema, where in the body."""
    message = _first_line(failure.message)
    if not message and getattr(failure, "status_code", None) is not None:
        message = f"HTTP {failure.status_code}"  # type: ignore[attr-defined]
    path = getattr(failure, "instance_path", None)
    at = f" at /{'/'.join(map(str, path))}" if path else ""
    return f"{failure.title}: {message}{at}" if message else failure.title


def _first_line(value: object) -> str:
    return next((line.strip() for line in str(value).splitlines() if line.strip()), "")


def _fetch(url: str, ctx: StepContext) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=min(ctx.remaining(), _REQUEST_TIMEOUT_S))
        response.raise_for_status()
        document = response.json()
    except requests.RequestException as exc:
        raise StepError(f"GET {url}: {type(exc).__name__}: {_first_line(exc)}") from None
    except ValueError:
        raise StepError(f"GET {url}: not a JSON OpenAPI document") from None
    if not isinstance(document, dict):
        raise StepError(f"GET {url}: not an OpenAPI document (a JSON {type(document).__name__})")
    return document


def _load(document: dict[str, Any]) -> BaseSchema:
    try:
        import schemathesis  # noqa: PLC0415  (only openapi checks need it: an optional extra)
    except ImportError:
        raise StepError(INSTALL_HINT) from None
    try:
        # an explicit configuration: a schemathesis.toml lying in the folder golive runs in changes nothing
        return schemathesis.openapi.from_dict(document, config=schemathesis.Config())
    except Exception as exc:  # Schemathesis' loader errors share no public base class
        raise StepError(f"not an OpenAPI document Schemathesis can use: {_first_line(exc)}") from None


def _pointer_base(document_url: str) -> str:
    """The document as findings name it: its path on the server, e.g. /openapi.json."""
    return urlsplit(document_url).path or document_url


def _required_inputs(operation: APIOperation[Any, Any, Any, Any]) -> bool:
    return any(parameter.is_required for parameter in [*operation.iter_parameters(), *operation.body])


def missing_examples(document: Mapping[str, Any], where: Callable[[str, str], str]) -> list[Finding]:
    """Each parameter and request body, of each operation, that comes with no example: neither
    its own ``example``/``examples``, nor its schema's, nor (for an object) one for each of its
    required properties."""
    found = []
    for path, written in document.get("paths", {}).items():
        item = _resolve(document, written)
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            inputs = [_resolve(document, p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]]
            lacking = [
                f"{parameter.get('in')} parameter {parameter.get('name')!r}"
                for parameter in inputs
                if not _has_example(document, parameter)
            ]
            body = _resolve(document, operation.get("requestBody", {}))
            if body.get("content") and not any(_has_example(document, media) for media in body["content"].values()):
                lacking.append("request body")
            if lacking:
                found.append(
                    Finding("missing_examples", where(method, path), "no example for " + ", ".join(lacking), "")
                )
    return found


def _has_example(document: Mapping[str, Any], holder: Mapping[str, Any], depth: int = 0) -> bool:
    """Whether a parameter, media type or schema has an example, its own or its schema's."""
    if "example" in holder or holder.get("examples"):
        return True  # beside a $ref, as FastAPI writes a body's examples
    holder = _resolve(document, holder)
    if "example" in holder or holder.get("examples"):
        return True
    if depth > 8:
        return False
    schema = holder.get("schema", {})
    if schema and _has_example(document, schema, depth + 1):
        return True
    for combined in ("allOf", "anyOf", "oneOf"):
        parts = holder.get(combined, [])
        if parts and (all if combined == "allOf" else any)(_has_example(document, p, depth + 1) for p in parts):
            return True
    properties = holder.get("properties", {})
    required = holder.get("required", [])
    return (
        bool(properties)
        and bool(required)
        and all(name in properties and _has_example(document, properties[name], depth + 1) for name in required)
    )


def _resolve(document: Mapping[str, Any], node: Any) -> Mapping[str, Any]:
    """A local ``$ref`` (``#/components/...``) followed; anything else as it is."""
    seen = 0
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        seen += 1
        if seen > 16:
            break
        target: Any = document
        for escaped in node["$ref"][2:].split("/"):
            part = escaped.replace("~1", "/").replace("~0", "~")
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        node = target
    return node if isinstance(node, Mapping) else {}
