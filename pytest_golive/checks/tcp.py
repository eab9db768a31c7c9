"""``tcp``: a port accepts connections."""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from ..checklist import builtin_kind_schema
from .base import Kind, Observation, StepContext, StepError, elapsed_ms_since

_SCHEMA = builtin_kind_schema("tcp")


class TcpKind(Kind):
    """A TCP port accepts connections."""

    name = "tcp"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {"open": True}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        host, port = _address(spec)
        start = time.perf_counter()
        try:
            with socket.create_connection((host, port), timeout=ctx.remaining()):
                is_open, reason = True, "open"
        except socket.gaierror as exc:  # no address to try: "the port is closed" would be unproven
            raise StepError(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
        except TimeoutError:
            is_open, reason = False, f"no answer within {ctx.timeout_s:g}s"
        except OSError as exc:
            is_open, reason = False, exc.strerror or type(exc).__name__
        elapsed = elapsed_ms_since(start)
        return Observation(
            summary=f"tcp {host}:{port}: {reason} in {elapsed:.0f} ms",
            result={"open": is_open, "elapsed_ms": elapsed},
            measurements={"connect_ms": round(elapsed, 3)},
        )


def _address(spec: Any) -> tuple[str, int]:
    if isinstance(spec, dict):
        host, port = spec["host"], spec["port"]
    elif ":" in spec:
        host, port = spec.rsplit(":", 1)
    else:
        raise StepError(f"expected HOST:PORT, got {spec!r}")
    try:
        number = int(port)
    except ValueError:
        raise StepError(f"port {port!r} is not a number") from None
    if not 0 < number < 65536:
        raise StepError(f"port {number} is out of range 1-65535")
    return host.strip("[]"), number
