"""uWSGI configs (``uwsgi.ini``, as healthchecks' ``docker/uwsgi.ini``): a deployment served by
uWSGI names there the app it serves (``module``, ``wsgi-file``), what runs before it
(``hook-pre-app = exec:./manage.py migrate``) and the programs it keeps running beside it
(``attach-daemon = ./manage.py sendalerts``). uWSGI itself is no server golive can bind to
127.0.0.1 on its port, so init reads these as data; it runs nothing.

Only ``[uwsgi]`` sections are read (the section ``uwsgi app.ini`` loads), with uWSGI's repeated
keys kept in order. What lies between ``if-env``/``if-exists``/``for`` ... ``endif``/``endfor``
is kept as conditional: the deployment runs it only when set up so."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

#: options that start a daemon beside the app: its command (smart ones first name a pidfile)
DAEMONS = {"attach-daemon": 0, "smart-attach-daemon": 1, "smart-attach-daemon2": 1}
#: options that run a command before the app is loaded
PRE_APP = ("hook-pre-app", "exec-pre-app")


@dataclass(frozen=True)
class Option:
    key: str
    value: str
    line: int
    #: inside an ``if-*``/``for`` block: set only when the deployment's environment says so
    conditional: bool


def is_config(name: str, text: str) -> bool:
    return name.endswith(".ini") and re.search(r"(?m)^\s*\[uwsgi\]\s*$", text) is not None


def options(text: str) -> list[Option]:
    """The ``[uwsgi]`` options, in order; a flag without ``=`` (``master``) is ``true``."""
    found: list[Option] = []
    section, depth = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        header = re.fullmatch(r"\[([^\]]*)\]", line)
        if header:
            section, depth = header.group(1).strip(), 0
            continue
        if section != "uwsgi":
            continue
        key, equals, value = line.partition("=")
        key, value = key.strip(), value.strip() if equals else "true"
        if key.startswith("if-") or key == "for":
            depth += 1
        elif key in ("endif", "endfor", "end-if", "end-for"):
            depth = max(0, depth - 1)
        else:
            found.append(Option(key, value, number, depth > 0))
    return found


def has_placeholders(text: str) -> bool:
    """uWSGI fills ``$(SMTPD_PORT)`` and ``%(chdir)`` in when it reads the config; golive cannot."""
    return "$(" in text or "%(" in text


def daemon_command(option: Option) -> str | None:
    """The shell text of a daemon option, or None for another option."""
    skip = DAEMONS.get(option.key)
    if skip is None:
        return None
    words = option.value.split(None, skip)
    return words[skip] if len(words) > skip else None


def pre_app_command(option: Option) -> str | None:
    """``hook-pre-app = exec:CMD`` and ``exec-pre-app = CMD``: the command, else None."""
    if has_placeholders(option.value):
        return None
    if option.key == "exec-pre-app":
        return option.value
    if option.key == "hook-pre-app" and option.value.startswith("exec:"):
        return option.value.removeprefix("exec:")
    return None


def served(config: list[Option]) -> tuple[str | None, str | None, Option | None]:
    """What the config serves: a module (``module = hc.wsgi:application``, ``module = app`` with
    ``callable = app``) as ``module:callable``, or a ``wsgi-file`` path (relative to ``chdir``
    when it is under it) with its callable; and the option that says so."""
    values = {option.key: option for option in config if not option.conditional}
    callable_ = values["callable"].value if "callable" in values else "application"
    for key in ("module", "wsgi", "wsgi-module"):
        option = values.get(key)
        if option is not None and re.fullmatch(r"[\w.]+(:\w+)?", option.value):
            module, _, name = option.value.partition(":")
            return f"{module}:{name or callable_}", None, option
    for key in ("wsgi-file", "file"):
        option = values.get(key)
        if option is not None and option.value.endswith(".py") and not has_placeholders(option.value):
            path = PurePosixPath(option.value)
            chdir = values["chdir"].value if "chdir" in values else ""
            if path.is_absolute() and chdir and path.is_relative_to(chdir):
                path = path.relative_to(chdir)
            return None, f"{path.as_posix()}:{callable_}", option
    return None, None, None
