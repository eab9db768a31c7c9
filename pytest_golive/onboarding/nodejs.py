"""What a Node.js app's JavaScript/TypeScript says about the variables it reads, read as text.

Node apps read their settings as ``process.env.NAME``, ``process.env["NAME"]``, by
destructuring (``const { NAME = "x" } = process.env``), or through a validated spec such as
envalid's ``cleanEnv(process.env, { NAME: str({ default: "x", choices: [...] }) })``, whose
keys are the variables: a spec entry without ``default`` is required (``devDefault`` applies
only outside production, and golive runs the app as deployed)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .environment import EnvRead

_NAME = r"[A-Z][A-Z0-9_]*"
_DOT_READ = re.compile(rf"""process\.env(?:\.({_NAME})|\[\s*['"`]({_NAME})['"`]\s*\])""")
_DESTRUCTURED = re.compile(r"(?:const|let|var)\s*\{([^{}]*)\}\s*=\s*process\.env\b")
#: envalid's validators (and those of its look-alikes: ``envsafe``): ``NAME: str({...})``
_SPEC_ENTRY = re.compile(
    rf"""^\s*['"]?({_NAME})['"]?\s*:\s*(?:\w+\.)?(str|num|bool|port|host|url|email|json|string|number|boolean)"""
    r"""\(\s*(\{.*?\})?\s*\)""",
    re.M | re.S,
)
_SPEC_LIBRARIES = re.compile(r"""(?:require\(\s*|from\s+)['"](envalid|envsafe)['"]""")
_LITERAL = r"""(?:"[^"]*"|'[^']*'|`[^`$]*`|-?\d+(?:\.\d+)?|true|false)"""


def env_reads(text: str, where: str) -> Iterator[EnvRead]:
    """Every variable the source reads, with its default and choices when it states them."""
    if _SPEC_LIBRARIES.search(text):
        yield from _spec_reads(text, where)
    for dotted, indexed in _DOT_READ.findall(text):
        yield EnvRead(dotted or indexed, where, "process.env", required=False)
    for names in _DESTRUCTURED.findall(text):
        for entry in names.split(","):
            name, _, default = entry.partition("=")
            name = name.split(":")[0].strip()
            if re.fullmatch(_NAME, name):
                yield EnvRead(name, where, "process.env", required=False, default=_literal(default.strip()))


def better_read(known: EnvRead | None, found: EnvRead) -> EnvRead:
    """Of two reads of one name, the one that says more: the spec that requires it, or gives
    its default and choices, over a script's ``if (!process.env.X)`` that only tests it."""
    if known is None:
        return found

    def says(read: EnvRead) -> tuple[bool, bool, bool]:
        return read.required, bool(read.choices), read.default is not None

    return found if says(found) > says(known) else known


def _spec_reads(text: str, where: str) -> Iterator[EnvRead]:
    for match in _SPEC_ENTRY.finditer(text):
        name, options = match.group(1), match.group(3) or ""
        default = re.search(rf"(?<![\w.])default\s*:\s*({_LITERAL})", options)
        line = text.count("\n", 0, match.start(1)) + 1
        yield EnvRead(
            name,
            f"{where}:{line}",
            "a validated spec (envalid)",
            required=default is None,
            default=_literal(default.group(1)) if default else None,
            choices=_choices(options, text),
        )


def _choices(options: str, text: str) -> tuple[str, ...]:
    """``choices: ["pg", "sqlite3"]``, or a constant array of the same file named there."""
    match = re.search(r"choices\s*:\s*(\[[^\]]*\]|[A-Za-z_$][\w$]*)", options)
    if match is None:
        return ()
    array = match.group(1)
    if not array.startswith("["):
        constant = re.search(rf"(?:const|let|var)\s+{re.escape(array)}\s*=\s*(\[[^\]]*\])", text)
        array = constant.group(1) if constant else "[]"
    return tuple(value for value in map(_literal, re.findall(_LITERAL, array)) if value is not None)


def _literal(written: str) -> str | None:
    """A JavaScript literal's value as an environment would hold it; None for anything else."""
    if not written or not re.fullmatch(_LITERAL, written):
        return None
    return written[1:-1] if written[0] in "\"'`" else written
