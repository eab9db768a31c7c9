"""``tls``: a TLS endpoint's certificate (valid, days left, hostname) and protocol version."""

from __future__ import annotations

import socket
import ssl
import time
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
        days = "" if result["days_left"] is None else f", {result['days_left']} days left"
        return Observation(
            summary=f"tls {host}:{port} ({server_name}): {result['reason']}, {result['protocol']}{days}",
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
                ok = result["protocol"] in PROTOCOLS and PROTOCOLS.index(result["protocol"]) >= PROTOCOLS.index(
                    expected
                )
                found.append(None if ok else Mismatch("min_protocol", f"{expected} or newer", str(result["protocol"])))
            else:
                found.append(compare(key, result.get(key), expected))
        return [mismatch for mismatch in found if mismatch]


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
