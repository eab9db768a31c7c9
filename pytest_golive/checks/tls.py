"""``tls``: a TLS endpoint's certificate (valid, days left, hostname) and protocol version."""

from __future__ import annotations

import socket
import ssl
import time
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

from ..checklist import builtin_kind_schema
from .base import Kind, Mismatch, Observation, StepContext, StepError, compare

_SCHEMA = builtin_kind_schema("tls")
PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_DAY_S = 86_400


class TlsKind(Kind):
    """A TLS endpoint: certificate valid for the host, days left, protocol version."""

    name = "tls"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {"valid": True}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        options = spec if isinstance(spec, dict) else dict(zip(("host", "port"), spec.rsplit(":", 1), strict=True))
        host, port = options["host"].strip("[]"), int(options["port"])
        server_name = options.get("server_name", host)
        context = ssl.create_default_context(cafile=str(ctx.run.base_dir / options["ca"]) if "ca" in options else None)
        result: dict[str, Any] = {"valid": True, "reason": "verified", "days_left": None, "protocol": None}
        try:
            cert, result["protocol"] = _handshake(context, host, port, server_name, ctx.remaining())
            result["days_left"] = int((ssl.cert_time_to_seconds(cert["notAfter"]) - time.time()) // _DAY_S)
        except ssl.SSLCertVerificationError as exc:
            result.update(valid=False, reason=exc.verify_message or str(exc))
            unverified = ssl.SSLContext(
                ssl.PROTOCOL_TLS_CLIENT
            )  # only to learn the protocol after a failed verification
            unverified.check_hostname = False
            unverified.verify_mode = ssl.CERT_NONE
            _, result["protocol"] = _handshake(unverified, host, port, server_name, ctx.remaining())
        result["older_accepted"], result["older_untried"] = _older_protocols(
            host, port, server_name, result["protocol"], ctx
        )
        days = "" if result["days_left"] is None else f", {result['days_left']} days left"
        older = f" (also accepts {', '.join(result['older_accepted'])})" if result["older_accepted"] else ""
        return Observation(
            summary=f"tls {host}:{port} ({server_name}): {result['reason']}, {result['protocol']}{older}{days}",
            result=result,
            measurements={k: v for k, v in result.items() if k in ("days_left", "protocol") and v is not None},
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        result = observation.result
        found: list[Mismatch | None] = []
        for key, expected in expect.items():
            if key == "valid":
                actual = "valid" if result["valid"] else f"invalid ({result['reason']})"
                found.append(None if result["valid"] == expected else Mismatch("valid", str(expected).lower(), actual))
            elif key == "valid_days":
                found.append(compare("valid_days", result["days_left"], expected))
            elif key == "min_protocol":
                found.append(_min_protocol(result, expected))
            else:
                found.append(compare(key, result.get(key), expected))
        return [mismatch for mismatch in found if mismatch]


def _min_protocol(result: Mapping[str, Any], expected: str) -> Mismatch | None:
    """The server speaks ``expected`` or newer, and nothing older: a server that still accepts
    TLSv1 negotiated TLSv1.3 with golive's client, and ``min_protocol: TLSv1.2`` passed."""
    if result["protocol"] not in PROTOCOLS or PROTOCOLS.index(result["protocol"]) < PROTOCOLS.index(expected):
        return Mismatch("min_protocol", f"{expected} or newer", str(result["protocol"]))
    below = PROTOCOLS[: PROTOCOLS.index(expected)]
    accepted = [name for name in result["older_accepted"] if name in below]
    if accepted:
        return Mismatch("min_protocol", f"{expected} or newer only", f"{', '.join(accepted)} accepted too")
    untried = [name for name in result["older_untried"] if name in below]
    if untried:
        return Mismatch(
            "min_protocol",
            f"{expected} or newer only",
            f"{', '.join(untried)} not tried: this machine's OpenSSL cannot offer it, so its refusal is unproven",
        )
    return None


def _older_protocols(
    host: str, port: int, server_name: str, negotiated: str | None, ctx: StepContext
) -> tuple[list[str], list[str]]:
    """Of the protocols older than the one negotiated: those the server accepts in a handshake
    that offers only that one, and those this machine's OpenSSL cannot offer at all."""
    accepted: list[str] = []
    untried: list[str] = []
    if negotiated not in PROTOCOLS:
        return accepted, untried
    for name in PROTOCOLS[: PROTOCOLS.index(negotiated)]:
        context = _only(name)
        if context is None:
            untried.append(name)
            continue
        timeout = ctx.remaining()  # out of time: the check fails, no refusal is assumed
        try:
            _handshake(context, host, port, server_name, timeout)
        except StepError as exc:
            if any(reason in str(exc) for reason in _CANNOT_OFFER):
                untried.append(name)
            continue  # refused (an alert, or the connection dropped): what is wanted
        accepted.append(name)
    return accepted, untried


#: what OpenSSL says when the client itself has no protocol or cipher to offer
_CANNOT_OFFER = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "no protocols available", "no ciphers available")


def _only(name: str) -> ssl.SSLContext | None:
    """A context that offers only protocol ``name``, verifying nothing (it asks only whether the
    server speaks it), at OpenSSL's security level 0 (TLSv1 and TLSv1.1 need SHA-1); None when
    this OpenSSL cannot offer it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():  # ssl.TLSVersion.TLSv1 is deprecated: golive asks whether it is refused
            warnings.simplefilter("ignore", DeprecationWarning)
            version = getattr(ssl.TLSVersion, name.replace(".", "_"))
            context.minimum_version = context.maximum_version = version
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return None
    return context


def _handshake(
    context: ssl.SSLContext, host: str, port: int, server_name: str, timeout: float
) -> tuple[Any, str | None]:
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            return tls.getpeercert(), tls.version()
    except ssl.SSLCertVerificationError:
        raise
    except (OSError, ssl.SSLError) as exc:
        raise StepError(f"tls {host}:{port}: {type(exc).__name__}: {exc}") from None
