"""Keep passwords and tokens out of every report.

A secret leaks in more shapes than its own: an HTTP client URL-encodes it into a query
string, an app logs its DSN as ``password=...``, a tool prints ``Authorization: Basic``
with it base64-encoded, a JSON body escapes it. So the Redactor masks

- every known secret value (secret-looking variables, generated service passwords, the
  checklist's secret-looking ``vars``, and passwords found inside URL or key=value
  values of either) in any mix of percent-, JSON-, HTML- and base64-encoding;
- and the value after any secret-looking key in text (``password=``, ``"token": "..."``,
  ``password: ...`` on its own line, ``Authorization: Bearer ...``) and in a URL's
  ``user:password@``, known or not.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from typing import Any

MASK = "***"
#: a variable or ``vars`` name whose value is a secret: what init generates as one
#: (onboarding/wiring.py: ``ENCRYPTION_KEY``, ``HASH_SALT``), and auth, credentials
_SECRET_NAME = re.compile(
    r"pass(word|wd)?|pwd|secret|token|api[_-]?key|private[_-]?key|credential|auth|salt|(?:^|[_-])key$", re.IGNORECASE
)
_MIN_SECRET_LENGTH = 4
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})  # the shell's working directories

#: a key in text whose value is a secret. Narrower than _SECRET_NAME (prose says "auth" and
#: "pass"), and the secret word ends the key ("secrets-configured" is a check id, not a key).
_TEXT_KEY = (
    r"[\w.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key"
    r"|credentials?|authorization)(?:[_-]?key)?(?![\w-])"
)
_VALUE = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|(?:(?:Bearer|Basic|Token|Digest)\s+)?[^\s"'&<>]+)"""
#: ``key=value`` and ``key: value``; not golive's own ``path: expected X, got Y`` mismatch lines
_KEYED = re.compile(
    rf"""(?P<head>(?<![\w.-])["']?{_TEXT_KEY}["']?\s*[:=]\s*)(?!expected\s)(?P<value>{_VALUE})""", re.IGNORECASE
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@/\s]+)(?P<at>@)", re.IGNORECASE)
_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_HEX = "0123456789abcdef"


def is_secret_name(name: str) -> bool:
    return name.upper() not in _NOT_SECRET and bool(_SECRET_NAME.search(name))


class Redactor:
    """Masks secret values in any encoding, and whatever follows a secret-looking key."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for name, value in environ.items():
            self._learn(value, is_secret_name(name))

    def add(self, secret: str | None) -> None:
        """Also mask ``secret`` (e.g. a password generated for a provisioned service)."""
        if secret and len(secret) >= _MIN_SECRET_LENGTH and secret not in self._secrets:
            self._secrets.add(secret)
            self._pattern = None

    def add_named(self, values: Mapping[str, Any]) -> None:
        """Also mask what ``values`` (e.g. the checklist's rendered ``vars``) holds under
        secret-looking names, at any depth, and the passwords inside any of its URLs."""
        for name, value in values.items():
            if isinstance(value, Mapping):
                if is_secret_name(str(name)):
                    self._learn_all(value)
                self.add_named(value)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, Mapping):
                        self.add_named(item)
                    else:
                        self._learn(str(item), is_secret_name(str(name)))
            elif value is not None:
                self._learn(str(value), is_secret_name(str(name)))

    def _learn_all(self, values: Mapping[str, Any]) -> None:
        for value in values.values():
            if isinstance(value, Mapping):
                self._learn_all(value)
            elif value is not None:
                self.add(str(value))

    def _learn(self, value: str, secret: bool) -> None:
        """A secret value itself; from any value, the passwords it carries (a DATABASE_URL's)."""
        if secret:
            self.add(value)
        for match in _URL_PASSWORD.finditer(value):
            self.add(_percent_decoded(match["password"]))
            self.add(match["password"])
        for match in _KEYED.finditer(value):
            self.add(_unquoted(match["value"]))

    def __call__(self, text: str) -> str:
        if self._secrets:
            text = self._mask_known(text)
        text = _URL_PASSWORD.sub(rf"\g<head>{MASK}\g<at>", text)
        return _KEYED.sub(_mask_keyed, text)

    def _mask_known(self, text: str) -> str:
        if self._pattern is None:
            self._pattern = _any_encoding(self._secrets)
        spans: list[tuple[int, int]] = []
        for match in self._pattern.finditer(text):
            start, end = match.span()
            if match.lastgroup == "base64":  # the whole encoded run: its edges carry bits of the secret too
                while start > 0 and text[start - 1] in _BASE64_CHARS:
                    start -= 1
                while end < len(text) and (text[end] in _BASE64_CHARS or text[end] == "="):
                    end += 1
            if spans and start <= spans[-1][1]:
                spans[-1] = (min(start, spans[-1][0]), max(end, spans[-1][1]))
            else:
                spans.append((start, end))
        pieces, last = [], 0
        for start, end in spans:
            pieces += [text[last:start], MASK]
            last = end
        return "".join([*pieces, text[last:]])

    def data(self, value: Any) -> Any:
        """``value`` with every string in it redacted (JSON-like data: dicts, lists, scalars)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self(str(key)): self.data(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(item) for item in value]
        return value


#: golive's own located problem, ``file:line:col: doc.path.KEY: message``: the key is a place
#: in the checklist and what follows is golive's message, not a value
_LOCATED_KEY = re.compile(r":\d+:\d+: [\w.\[\]-]*$")


def _mask_keyed(match: re.Match[str]) -> str:
    value = match["value"]
    located = match["head"].rstrip().endswith(":") and _LOCATED_KEY.search(match.string, 0, match.start("head") + 1)
    if value.strip("\"'") == MASK or located:
        return match[0]
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match['head']}{quote}{MASK}{quote}"


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value.rsplit(maxsplit=1)[-1]  # "Bearer abc" -> "abc"


def _percent_decoded(text: str) -> str:
    from urllib.parse import unquote  # noqa: PLC0415  (only URLs with passwords need it)

    return unquote(text)


def _any_encoding(secrets: set[str]) -> re.Pattern[str]:
    """One pattern for every secret, longest first, each in any mix of encodings."""
    ordered = sorted(secrets, key=len, reverse=True)
    text = "|".join("".join(_char(c) for c in secret) for secret in ordered)
    encoded = "|".join(form for secret in ordered for form in _base64_forms(secret.encode()))
    return re.compile(f"(?P<text>{text})" + (f"|(?P<base64>{encoded})" if encoded else ""))


def _char(c: str) -> str:
    """One character: literal, percent-encoded (either hex case), '+' for a space, or
    JSON- or HTML-escaped."""
    forms = [re.escape(c)]
    forms.append("".join("%" + _hex_byte(b) for b in c.encode()))
    code = ord(c)
    if code <= 0xFFFF:
        forms.append(r"\\u" + _hex_digits(f"{code:04x}"))
    forms.append(f"&#0*{code};|&#[xX]0*{_hex_digits(f'{code:x}')};")
    if c == " ":
        forms.append(r"\+")
    named = {'"': r'\\"|&quot;', "\\": r"\\\\", "/": r"\\/", "&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;"}
    if c in named:
        forms.append(named[c])
    return "(?:" + "|".join(forms) + ")"


def _hex_byte(b: int) -> str:
    return _hex_digits(f"{b:02x}")


def _hex_digits(digits: str) -> str:
    return "".join(f"[{d}{d.upper()}]" if d in _HEX[10:] else d for d in digits)


def _base64_forms(secret: bytes) -> Iterator[str]:
    """The secret base64-encoded at each of the three alignments it can have inside a
    longer encoded text (``user:secret`` in Basic auth), standard or URL-safe alphabet: the
    characters that depend on the secret alone (the caller masks the whole run around them)."""
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + secret).decode()
        core = encoded[(0, 2, 3)[offset] : 4 * ((offset + len(secret)) // 3)]
        if len(core) >= 6:
            yield re.escape(core)
            if "+" in core or "/" in core:
                yield re.escape(core.replace("+", "-").replace("/", "_"))
