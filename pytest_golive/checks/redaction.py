"""Keep passwords and tokens out of every report."""

from __future__ import annotations

import re
from collections.abc import Mapping

MASK = "***"
_SECRET_NAME = re.compile(r"pass(word|wd)?|pwd|secret|token|api[_-]?key|private[_-]?key|credential|auth", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@/\s]+)(?P<at>@)", re.IGNORECASE)
_MIN_SECRET_LENGTH = 4


_NOT_SECRET = frozenset({"PWD", "OLDPWD"})  # the shell's working directories


def is_secret_name(name: str) -> bool:
    return name.upper() not in _NOT_SECRET and bool(_SECRET_NAME.search(name))


class Redactor:
    """Masks the values of secret-looking variables and passwords inside URLs."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        secrets = {
            value for name, value in environ.items() if is_secret_name(name) and len(value) >= _MIN_SECRET_LENGTH
        }
        self._secrets = sorted(secrets, key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        """Also mask ``secret`` (e.g. a password generated for a provisioned service)."""
        if secret and len(secret) >= _MIN_SECRET_LENGTH and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _URL_PASSWORD.sub(rf"\g<head>{MASK}\g<at>", text)
