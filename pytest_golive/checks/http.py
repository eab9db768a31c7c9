"""``http``: one request to the app or an absolute URL."""

from __future__ import annotations

import difflib
import json
import mimetypes
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import jsonschema
import requests

from ..checklist import builtin_kind_schema
from .base import (
    REACHING_ONLY,
    Kind,
    Mismatch,
    Observation,
    StepContext,
    StepError,
    compare,
    compare_max_ms,
    compare_paths,
    elapsed_ms_since,
)
from .extract import html_mismatches

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
_EVIDENCE_CHARS = 500
_SCHEMA = builtin_kind_schema("http")


class HttpKind(Kind):
    """One HTTP request to the app or an absolute URL."""

    name = "http"
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {"status": "< 400"}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        method = next(m for m in METHODS if m in spec)
        url = absolute_url(spec[method], ctx.base_url)
        session = ctx.shared.get("http.session")
        if session is None:
            session = ctx.resources.enter_context(requests.Session())
            ctx.shared["http.session"] = session
        headers = with_app_headers(spec[method], {k: str(v) for k, v in spec.get("headers", {}).items()}, ctx)
        auth = _credentials(spec.get("auth"), headers, ctx)
        files = {field: _upload(field, upload, ctx.run.base_dir) for field, upload in spec.get("files", {}).items()}
        data = None
        if "body_file" in spec:
            data = _read("body_file", spec["body_file"], ctx.run.base_dir)
            guessed = mimetypes.guess_type(spec["body_file"])[0]
            if guessed and not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = guessed
        start = time.perf_counter()
        answers: list[requests.Response] = []  # each answer, redirects included: a failing hop is named
        try:
            response = session.request(
                method.upper(),
                url,
                headers=headers,
                auth=auth,
                params=spec.get("query"),
                json=spec.get("json"),
                data=spec.get("form", spec.get("body", data)),
                files=files or None,
                allow_redirects=spec.get("follow_redirects", True),
                verify=spec.get("verify_tls", True),
                timeout=ctx.remaining(),
                hooks={"response": lambda answer, *args, **kwargs: answers.append(answer)},
            )
        except requests.Timeout:
            raise StepError(f"{method.upper()} {url}: {_hop(answers)}no answer within {ctx.timeout_s:g}s") from None
        except requests.RequestException as exc:
            raise StepError(f"{method.upper()} {url}: {_hop(answers)}{_reason(exc, answers)}") from None
        elapsed = elapsed_ms_since(start)
        body = response.text
        return Observation(
            summary=f"{method.upper()} {url} -> {response.status_code} in {elapsed:.0f} ms",
            result={
                "status": response.status_code,
                "headers": {k.lower(): v for k, v in response.headers.items()},
                "json": json_or_none(body),
                "body": body,
                "elapsed_ms": elapsed,
                "url": response.url,
                "sign_in": None
                if "follow_redirects" in spec or ctx.shared.get(REACHING_ONLY)
                else _sign_in_detour(url, response.url),
            },
            measurements={"latency_ms": round(elapsed, 3), "status": response.status_code},
            evidence=body[:_EVIDENCE_CHARS] + ("..." if len(body) > _EVIDENCE_CHARS else ""),
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        result = observation.result
        mismatches: list[Mismatch] = []
        if result.get("sign_in"):
            mismatches.append(
                Mismatch(
                    "page",
                    f"{urlsplit(result['sign_in']).path or '/'} served",
                    f"redirected to the sign-in page {urlsplit(result['url']).path}: an anonymous user does not get "
                    "it; log in first (a step that posts the login form), or check the redirect itself "
                    "(follow_redirects: false, status: 302)",
                )
            )
        for key, expected in expect.items():
            if key == "max_ms":
                found = compare_max_ms(result["elapsed_ms"], expected)
                mismatches += [found] if found else []
            elif key == "headers":
                for name, wanted in expected.items():
                    found = compare(f"headers.{name}", result["headers"].get(name.lower()), wanted)
                    if found and name.lower() not in result["headers"]:  # null is how one says "absent"
                        found = Mismatch(found.what, found.expected, "no such header")
                    mismatches += [found] if found else []
            elif key in ("json", "schema") and result["json"] is None:
                mismatches.append(
                    Mismatch(key, "a JSON body", f"{result['headers'].get('content-type', 'no content type')} body")
                )
            elif key == "html":
                mismatches += html_mismatches(expected, result["body"])
            elif key == "json":
                mismatches += compare_paths("json", result["json"], expected)
            elif key == "schema":
                mismatches += _schema_mismatches(expected, result["json"], ctx.run.base_dir)
            else:
                found = compare(key, result.get(key), expected)
                mismatches += [found] if found else []
        return mismatches


#: a page where a redirect sends an anonymous user: /login/, /accounts/login, /users/sign_in, /auth/signin
_SIGN_IN_PAGE = re.compile(r"(^|/)(log[-_]?in|sign[-_]?in)(/|$)", re.I)
#: asking for these ends on the sign-in page by design (a logout sends one back to it)
_SIGN_IN_OR_OUT = re.compile(r"(^|/)(log[-_]?(in|out|off)|sign[-_]?(in|out|off))(/|$)", re.I)


def _sign_in_detour(asked: str, served: str) -> str | None:
    """The page asked for, when redirects ended on a sign-in page it is not itself: ``status:
    200`` of /dashboard held on the login form that answered instead."""
    asked_path, served_path = urlsplit(asked).path, urlsplit(served).path
    if asked_path == served_path or _SIGN_IN_OR_OUT.search(asked_path) or not _SIGN_IN_PAGE.search(served_path):
        return None
    return asked


def absolute_url(url: str, base_url: str | None) -> str:
    if url.startswith(("http://", "https://")):
        return url
    if not base_url:
        raise StepError(f"relative URL {url!r} needs app.base_url in the checklist or --golive-base-url")
    return base_url.rstrip("/") + "/" + url.lstrip("/")


def with_app_headers(url: str, headers: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """A request's headers over ``app.headers`` when it goes to the app's own URL (relative, or
    under its base URL): what the proxy in front of the app adds in production, such as
    X-Forwarded-Proto."""
    elsewhere = url.startswith(("http://", "https://")) and not (
        ctx.base_url and (url + "/").startswith(ctx.base_url.rstrip("/") + "/")
    )
    if elsewhere or ctx.run.app is None:
        return headers
    own = {name.lower() for name in headers}
    return {**{name: value for name, value in ctx.run.app.headers.items() if name.lower() not in own}, **headers}


def _credentials(auth: Mapping[str, Any] | None, headers: dict[str, str], ctx: StepContext) -> tuple[str, str] | None:
    """``auth:`` as requests takes it: basic as a (user, password) pair, bearer as a header
    added to ``headers``. The secret is masked in every report from now on."""
    if not auth:
        return None
    if "bearer" in auth:
        token = str(auth["bearer"])
        ctx.run.mask(token)
        headers["Authorization"] = f"Bearer {token}"
        return None
    user, password = (str(part) for part in auth["basic"])
    ctx.run.mask(password)
    return user, password


def _upload(field: str, upload: Mapping[str, Any], base_dir: Path) -> tuple[str, bytes, str]:
    """One file field of a multipart body, as requests takes it: (filename, content, type)."""
    path = str(upload["path"])
    filename = str(upload.get("filename") or Path(path).name)
    content_type = upload.get("content_type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return filename, _read(f"files.{field}.path", path, base_dir), str(content_type)


def _read(key: str, path: str, base_dir: Path) -> bytes:
    try:
        return (base_dir / path).read_bytes()
    except OSError as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else exc.strerror or type(exc).__name__
        where = "paths are relative to the checklist's folder"
        raise StepError(f"{key}: cannot read {path!r} ({reason}; {where})") from None


def json_or_none(body: str) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _hop(answers: list[requests.Response]) -> str:
    """Where a redirect led, when the request that failed was not the one asked for."""
    if not answers or not answers[-1].is_redirect:
        return ""
    last = answers[-1]
    return f"redirected ({last.status_code}) to {last.next.url if last.next else last.headers['location']}, "


def _reason(exc: requests.RequestException, answers: list[requests.Response]) -> str:
    redirected_to_tls = (
        bool(answers)
        and answers[-1].is_redirect
        and str(answers[-1].headers.get("location", "")).startswith("https://")
    )
    if redirected_to_tls and isinstance(exc, (requests.exceptions.SSLError, requests.ConnectionError)):
        return (
            "no TLS server answers there (an app that expects a TLS proxy in front of it; "
            "golive serves plain HTTP: send the proxy's header with app.headers, e.g. X-Forwarded-Proto: https)"
        )
    if isinstance(exc, requests.ConnectionError):
        return "connection failed (nothing answered at that address)"
    return f"{type(exc).__name__}: {exc}"


def _schema_mismatches(schema: Any, document: Any, base_dir: Path) -> list[Mismatch]:
    if isinstance(schema, str):
        try:
            schema = json.loads((base_dir / schema).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return [Mismatch("schema", f"a readable JSON Schema file at {schema}", str(exc))]
    problem = _vacuous_schema(schema)
    if problem is not None:
        return [Mismatch("schema", "a JSON Schema that constrains the body", problem)]
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(document))
    if error is None:
        return []
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return [Mismatch("schema", "a body matching the JSON Schema", f"at {where}: {error.message}")]


#: Draft 2020-12's keywords, older drafts' and OpenAPI's annotations: another key in a schema is
#: ignored by JSON Schema, so a misspelt ``require: [id]`` checked nothing
_SCHEMA_KEYWORDS = frozenset(
    [
        "$schema",
        "$id",
        "$ref",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$vocabulary",
        "$comment",
        "$defs",
        "definitions",
        "$recursiveRef",
        "$recursiveAnchor",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "prefixItems",
        "items",
        "additionalItems",
        "contains",
        "properties",
        "patternProperties",
        "additionalProperties",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "type",
        "enum",
        "const",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxContains",
        "minContains",
        "maxProperties",
        "minProperties",
        "required",
        "dependentRequired",
        "dependencies",
        "format",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "title",
        "description",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "examples",
        "example",
        "nullable",
        "discriminator",
        "xml",
        "externalDocs",
    ]
)
_SUBSCHEMA = (
    *("additionalProperties", "not", "if", "then", "else", "contains", "propertyNames", "contentSchema"),
    *("unevaluatedItems", "unevaluatedProperties", "additionalItems", "items"),
)
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def _vacuous_schema(schema: Any) -> str | None:
    """Why ``schema`` would check nothing or cannot check (None when it can): one that accepts
    every document (``{}``, ``true``), a misspelt keyword, or one that is not a JSON Schema."""
    if schema is True or schema == {}:
        return f"{json.dumps(schema)}, which accepts every document"
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return f"not a JSON Schema, at {where}: {exc.message}"
    unknown = _unknown_keyword(schema, "")
    if unknown is None:
        return None
    where, key = unknown
    close = difflib.get_close_matches(key, _SCHEMA_KEYWORDS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown keyword {key!r} at {where or '(root)'}, which JSON Schema ignores{hint}"


def _unknown_keyword(schema: Any, where: str) -> tuple[str, str] | None:
    if not isinstance(schema, dict):
        return None
    for key in schema:
        if key not in _SCHEMA_KEYWORDS and not key.startswith("x-"):
            return where, key
    inner: list[tuple[str, Any]] = []
    for key, value in schema.items():
        if key in _SUBSCHEMA and isinstance(value, dict):
            inner.append((f"{where}/{key}", value))
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            inner += [(f"{where}/{key}/{index}", item) for index, item in enumerate(value)]
        elif key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            inner += [(f"{where}/{key}/{name}", item) for name, item in value.items()]
    for path, item in inner:
        found = _unknown_keyword(item, path)
        if found is not None:
            return found
    return None
