"""The one small interface every service kind module implements."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .endpoint import Endpoint
from .errors import ProvisionError

POLL_S = 0.05


@dataclass
class Running:
    """A started (or reached) service: how to connect as its owner, and how to stop it."""

    endpoint: Endpoint
    stop: Callable[[], None]
    #: what a fault can act on, as JSON (xdist workers get it too): {"container": ID} or {"pid": N, "start": T}
    handle: dict[str, Any] | None = None


def wait_until(probe: Callable[[], None], timeout_s: float, what: str, context: Callable[[], str]) -> None:
    """Call ``probe`` until it stops raising; on timeout, name the last error and ``context()``."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            probe()
            return
        except ProvisionError:  # the probe knows it never will be (the server exited): no waiting
            raise
        except Exception as exc:  # any failure to connect means "not ready yet"
            last = exc
            time.sleep(POLL_S)
    reason = str(last).strip().splitlines()[0] if last else "no answer"
    extra = context()
    raise ProvisionError(f"{what} not ready within {timeout_s:g}s: {reason}" + (f"; log: {extra}" if extra else ""))
