"""The values and filters every template may use besides the checklist's own names.

Each function runs every time the template holding it is rendered, so ``{{ uuid() }}`` in a
check's request is new on each request, and in ``vars`` it is one value per process. The
run's id and counters belong to the run, not to a template: the runner adds them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import secrets
import string
import uuid as uuid_module
from datetime import datetime, timezone
from typing import Any

#: The longest ``random_string(n)``: the value goes into a request, not into memory by the megabyte.
MAX_RANDOM_LENGTH = 1024
_RANDOM_ALPHABET = string.ascii_letters + string.digits
DEFAULT_NOW_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def uuid() -> str:
    """A random (version 4) UUID."""
    return str(uuid_module.uuid4())


def random_string(length: int = 16) -> str:
    """``length`` random letters and digits, from the secrets module (unguessable tokens too)."""
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_RANDOM_LENGTH:
        raise ValueError(f"random_string(n) takes a length from 1 to {MAX_RANDOM_LENGTH}, got {length!r}")
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(length))


def choice(options: Any) -> Any:
    """One item of a list, at random (``choice(['A1', 'A2'])``): a load varies its requests
    with it, so it is the cheap generator of ``random``, not ``secrets``."""
    if isinstance(options, (str, bytes, dict)) or not isinstance(options, (list, tuple)) or not options:
        raise ValueError(f"choice(items) takes a list of one or more items, got {options!r}")
    return random.choice(options)


def now(format: str = DEFAULT_NOW_FORMAT) -> str:
    """The current time in UTC, formatted by strftime (``now('%Y-%m-%d')``)."""
    if not isinstance(format, str):
        raise TypeError(f"now(format) takes a strftime format such as '%Y-%m-%d', got {format!r}")
    return datetime.now(timezone.utc).strftime(format)


def b64encode(value: Any) -> str:
    """Base64 of a text's UTF-8 bytes (``'user:pw' | b64encode``)."""
    return base64.b64encode(_bytes(value)).decode("ascii")


def b64decode(value: Any) -> str:
    """The UTF-8 text that base64 ``value`` encodes."""
    try:
        return base64.b64decode(_bytes(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"b64decode: not base64 of UTF-8 text ({exc})") from None


def sha256(value: Any) -> str:
    """The SHA-256 of a text's UTF-8 bytes, as 64 hex digits."""
    return hashlib.sha256(_bytes(value)).hexdigest()


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


FUNCTIONS = {"uuid": uuid, "random_string": random_string, "now": now, "choice": choice}
#: Jinja2 has ``urlencode`` already (a text percent-encoded, a mapping as a query string).
FILTERS = {"b64encode": b64encode, "b64decode": b64decode, "sha256": sha256}
