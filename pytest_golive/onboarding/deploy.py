"""How the app is started and what runs before it at deploy, from shell text.

A deploy line such as ``flask db upgrade; flask translate compile; gunicorn app:app`` or a
boot script is split into commands: the server becomes golive's ``app.command`` (bound to
127.0.0.1 on the port golive picks, reloader off), and the steps before it that prepare the
app (migrations, Python scripts, Django management commands) become ``app.setup``, run with
the app's interpreter. Other steps (waiting loops, echo, tools outside Python) are listed
so the checklist can say what it leaves out."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

PYTHON = "{{ app.python }}"
PORT = "{{ app.port }}"
_RUNNERS = (["poetry", "run"], ["uv", "run"], ["pipenv", "run"], ["pdm", "run"], ["hatch", "run"], ["rye", "run"])
_SHELL_WORDS = {"if", "then", "else", "elif", "fi", "while", "until", "do", "done", "for", "case", "esac", "function"}
_NOT_STEPS = {"echo", "sleep", "set", "export", "cd", "true", "false", "exit", "break", "continue", "trap", "wait", "["}
#: modules that make environments or install packages: building the image (``RUN python -m venv
#: /opt/venv``), not preparing the app; run here, they would write outside the project
_INSTALLERS = frozenset({"venv", "virtualenv", "pip", "ensurepip", "pipx", "uv", "poetry", "pdm", "build"})
_MIGRATION = re.compile(
    r"\b(alembic\s+(-c\s+\S+\s+)?upgrade|flask\s+db\s+upgrade|manage\.py\s+migrate|db\s+upgrade)\b"
    r"|\b(knex\s+migrate:latest|sequelize(-cli)?\s+db:migrate|node-pg-migrate\s+up|typeorm\S*\s+migration:run"
    r"|drizzle-kit\s+migrate|prisma\s+migrate\s+deploy|db-migrate\s+up)(\s|$)"
)
#: Node.js tools a deploy runs before the server (migrations, seeds), from the app's node_modules
_NODE_TOOLS = frozenset(
    {"knex", "sequelize", "sequelize-cli", "node-pg-migrate", "typeorm", "drizzle-kit", "prisma", "db-migrate"}
)
#: package managers that run a package.json script: ``npm run NAME``, ``npm start``, ``yarn NAME``
_PACKAGE_MANAGERS = frozenset({"npm", "yarn", "pnpm", "bun"})
#: how a package.json script is keyed among the scripts ``read_deploy`` is given
PACKAGE_SCRIPT = "package.json:"


@dataclass
class Deploy:
    """What one source (a Procfile line, a script, a Dockerfile) says about starting the app."""

    server: list[str] | None = None
    #: the server as written, for the report
    server_text: str = ""
    setup: list[list[str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    migrates: bool = False
    #: the variables a script takes from the environment it is given (``SECRET_KEY=${SECRET_KEY:-}``):
    #: the deployment's settings, which the server it execs inherits
    taken: list[str] = field(default_factory=list)


#: commands that only feed the next one's input (``yes | manage.py migrate``): not steps of their own
_PIPE_FEEDERS = frozenset({"yes", "echo", "printf"})


def split_commands(text: str) -> list[list[str]]:
    """Shell text -> simple commands, split at ``;``, ``&&``, ``||``, ``|`` and newlines (a
    line ending in ``\\`` goes on on the next); a command that only feeds a pipe is left out."""
    commands: list[list[str]] = []
    for line in re.sub(r"\\\r?\n", " ", text).splitlines():
        stripped = re.sub(r"\s\d*(>>?|<)&?\s*[^\s;&|]+", " ", " " + line).strip()  # redirections
        if not stripped or stripped.startswith("#"):
            continue
        lexer = shlex.shlex(stripped, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        try:
            words = list(lexer)
        except ValueError:  # an unbalanced quote: this line is not a command we can read
            continue
        current: list[str] = []
        for word in words:
            if word and set(word) <= set(";&|"):
                if current and not (word == "|" and current[0] in _PIPE_FEEDERS):
                    commands.append(current)
                current = []
            else:
                current.append(word)
        if current:
            commands.append(current)
    return commands


def normalise(words: list[str]) -> list[str]:
    """Without ``exec``, ``VAR=value`` prefixes, ``env``, ``poetry run`` and friends, and venv paths."""
    words = list(words)
    changed = True
    while words and changed:
        changed = False
        if words[0] in ("exec", "env", "command", "nohup") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words, changed = words[1:], True
        for runner in _RUNNERS:
            if words[: len(runner)] == runner:
                words, changed = words[len(runner) :], True
    if words:
        words[0] = Path(words[0]).name if "/" in words[0] and "bin/" in words[0] else words[0]
        if re.fullmatch(r"python3?(\.\d+)?", words[0]):
            words[0] = "python"
    return words


def server_command(argv: list[str]) -> list[str] | None:
    """uvicorn, gunicorn, hypercorn, daphne, waitress, fastapi, flask run, manage.py runserver,
    python, node: rewritten to bind 127.0.0.1 on ``{{ app.port }}``, reloaders off."""
    words = normalise(argv)
    if words[:2] == ["python", "-m"]:
        words = words[2:]
    if not words:
        return None
    tool, rest = Path(words[0]).name, words[1:]
    if tool == "uvicorn":
        kept = _without(rest, {"--host", "--port", "--uds", "--fd", "--workers", "--reload-dir"}, {"--reload"})
        return [PYTHON, "-m", "uvicorn", *kept, "--host", "127.0.0.1", "--port", PORT] if _positional(kept) else None
    if tool == "gunicorn":
        kept = _without(rest, {"-b", "--bind", "-p", "--pid", "-w", "--workers"}, {"--reload", "-D", "--daemon"})
        return [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{PORT}", *kept] if _positional(kept) else None
    if tool == "hypercorn":
        kept = _without(rest, {"-b", "--bind"}, {"--reload"})
        return [PYTHON, "-m", "hypercorn", "--bind", f"127.0.0.1:{PORT}", *kept] if _positional(kept) else None
    if tool == "daphne":
        kept = _without(rest, {"-b", "--bind", "-p", "--port", "-u", "--unix-socket"}, set())
        return [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", PORT, *kept] if _positional(kept) else None
    if tool in ("waitress-serve", "waitress"):
        kept = [w for w in _without(rest, {"--host", "--port"}, set()) if not w.startswith(("--listen", "--port"))]
        return [PYTHON, "-m", "waitress", f"--listen=127.0.0.1:{PORT}", *kept] if _positional(kept) else None
    if tool == "fastapi" and rest[:1] in (["run"], ["dev"]):
        kept = _without(rest[1:], {"--host", "--port", "--workers"}, {"--reload", "--no-reload"})
        return [PYTHON, "-m", "fastapi", "run", *kept, "--host", "127.0.0.1", "--port", PORT]
    if tool == "flask":
        app = _option(rest, ("--app", "-A"))
        return [PYTHON, "-m", "flask", *(["--app", app] if app else []), "run", "--host", "127.0.0.1", "--port", PORT]
    if tool == "python" and rest[:2] == ["manage.py", "runserver"]:
        return [PYTHON, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"]
    if tool == "python" and rest and rest[0] not in ("-c", "manage.py"):
        return [PYTHON, *rest]  # the app reads $PORT
    if tool == "node" and rest:
        return ["node", *rest]
    return None


def _without(words: list[str], with_value: set[str], flags: set[str]) -> list[str]:
    """The words less the options named (and their values, also as ``--opt=value``)."""
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in with_value:
            skip = True
        elif word in flags or any(word.startswith(name + "=") for name in with_value | flags):
            continue
        else:
            kept.append(word)
    return kept


def _positional(words: list[str]) -> bool:
    return any(not word.startswith("-") for word in words)


def _option(words: list[str], names: tuple[str, ...]) -> str | None:
    for index, word in enumerate(words):
        if word in names and index + 1 < len(words):
            return words[index + 1]
        for name in names:
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def setup_step(words: list[str]) -> list[str] | None:
    """A step before the server that golive runs with the app's interpreter, or None."""
    words = normalise(words)
    if not words:
        return None
    tool, rest = words[0], words[1:]
    if tool == "alembic" and rest:
        return [PYTHON, "-m", "alembic", *rest]
    if tool == "flask" and rest[:2] == ["db", "upgrade"]:
        return [PYTHON, "-m", "flask", *rest]
    if tool == "python" and rest[:1] == ["-m"] and len(rest) > 1 and rest[1] not in _INSTALLERS:
        return [PYTHON, *rest]
    if tool == "python" and rest and rest[0].endswith(".py"):
        return [PYTHON, *rest]
    if tool.endswith("manage.py") and rest:
        return [PYTHON, tool.lstrip("./"), *rest]
    if tool == "npx":
        tool, rest = (rest[0], rest[1:]) if rest and not rest[0].startswith("-") else ("", [])
    if tool in _NODE_TOOLS and rest:
        return ["npx", "--no-install", tool, *rest]  # the app's own copy, never one fetched now
    if tool == "node" and rest and not rest[0].startswith("-"):
        return ["node", *rest]
    return None


def is_migration(words: list[str]) -> bool:
    return bool(_MIGRATION.search(" ".join(normalise(words))))


#: background workers by their console script, and the module ``python -m`` runs them as
_WORKER_MODULES = {
    "celery": "celery",
    "rq": "rq.cli",
    "dramatiq": "dramatiq",
    "arq": "arq",
    "huey_consumer": "huey.bin.huey_consumer",
    "huey_consumer.py": "huey.bin.huey_consumer",
}
#: what a Python process beside the server does when it is a worker (``manage.py rqworker``, ``flask rq worker``)
_WORKER_WORDS = re.compile(r"(?i)worker|beat|scheduler|qcluster|consumer|process_tasks|runjobs")


def worker_command(text: str, scripts: dict[str, str] | None = None, *, named: bool = False) -> list[str] | None:
    """A background worker started by shell text, with the app's interpreter; None for
    anything else (a server, a tool outside Python, a one-off step). ``named``: the text is
    a process the deployment names apart from its web server (a Procfile ``worker:`` line),
    so any Python program counts; else (a compose service) only what reads as a worker."""
    commands = _commands(text, scripts or {}, 0, {})
    if not commands:
        return None
    words = commands[-1]
    if Path(words[0]).name == "manage.py":  # ./manage.py sendalerts, run by its shebang
        words = ["python", words[0].removeprefix("./"), *words[1:]]
    if words[0] in _WORKER_MODULES:
        return _attached([PYTHON, "-m", _WORKER_MODULES[words[0]], *words[1:]])
    if words[0] not in ("python", "flask") or len(words) < 2 or is_migration(words):
        return None
    if not (named or _WORKER_WORDS.search(" ".join(words[1:]))) or words[1:2] == ["run"]:
        return None
    return _attached([PYTHON, *words[1:]] if words[0] == "python" else [PYTHON, "-m", *words])


def _attached(argv: list[str]) -> list[str]:
    """A Celery worker that stays golive's child, writing to the app's log: ``--detach`` forks
    it into a session of its own, out of reach of golive's stop and cleanup (and its parent
    exits at once), and a ``--pidfile`` or ``--logfile`` of the deployment's is shared by
    every run on the machine."""
    if argv[1:3] != ["-m", "celery"]:
        return argv
    return _without(argv, {"--pidfile", "--logfile", "-f"}, {"--detach", "-D"})


def read_deploy(text: str, scripts: dict[str, str] | None = None, *, serves: bool = True) -> Deploy:
    """The server (the last command that serves, when ``serves``) and the steps before it, in
    shell text; a script it runs is read in turn (``scripts``: its path as written -> text)."""
    taken: list[str] = []
    commands = _commands(text, scripts or {}, 0, {}, taken=taken)
    server_at = None
    if serves:
        for index, words in enumerate(commands):
            if server_command(words) is not None and not is_migration(words):
                server_at = index
    found = Deploy(taken=taken)
    if server_at is not None:
        found.server, found.server_text = server_command(commands[server_at]), " ".join(commands[server_at])
        commands = commands[:server_at]
    for words in commands:
        _add_step(found, words)
    return found


def _commands(
    text: str,
    scripts: dict[str, str],
    depth: int,
    variables: dict[str, str],
    arguments: list[str] | None = None,
    *,
    taken: list[str] | None = None,
) -> list[list[str]]:
    """The commands of shell text, with the variables it assigns (``WORKERS=${WORKERS:-1}``)
    expanded as the script would when the deployment sets none: golive runs no shell. A
    script's ``"$@"`` is the command it was given (an entry point's ``exec "$@"`` runs the
    Dockerfile's CMD)."""
    found: list[list[str]] = []
    taken = [] if taken is None else taken
    for command in split_commands(text):
        written = [part for word in command for part in (arguments or [] if word in _ALL_ARGUMENTS else [word])]
        if all(_ASSIGNMENT.match(word) for word in written):
            for word in written:
                name, _, value = word.partition("=")
                reference = _SELF_REFERENCE.match(value)
                if reference and name in reference.group("name", "bare") and name not in taken:
                    taken.append(name)
                variables[name] = expand(value, variables)
            continue
        words = _without_unset(normalise([expand(word, variables) for word in written]))
        if not words or words[0] in _SHELL_WORDS or words[0] in _NOT_STEPS or words[0].startswith(("$", ">")):
            continue
        script = _script_of(words)
        package_script = _package_script(words)
        if package_script is not None and PACKAGE_SCRIPT + package_script in scripts and depth < 3:
            for name in (f"pre{package_script}", package_script, f"post{package_script}"):  # as npm runs them
                found += _commands(scripts.get(PACKAGE_SCRIPT + name, ""), scripts, depth + 1, variables, taken=taken)
        elif words[0] in ("sh", "bash") and words[1:2] == ["-c"] and len(words) > 2 and depth < 3:
            found += _commands(words[2], scripts, depth + 1, variables, taken=taken)
        elif script and _script_text(script, scripts) is not None and depth < 3:
            given = words[words.index(script) + 1 :]
            found += _commands(_script_text(script, scripts) or "", scripts, depth + 1, variables, given, taken=taken)
        else:
            found.append(words)
    return found


#: a script's arguments, all of them
_ALL_ARGUMENTS = frozenset({"$@", "${@}", "$*", "${*}"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_REFERENCE = re.compile(r"\$\{(?P<braced>[A-Za-z_]\w*)(?::?-(?P<default>[^}]*))?\}|\$(?P<bare>[A-Za-z_]\w*)")


#: ``${NAME:-default}``, ``${NAME}`` or ``$NAME`` alone: a value taken from the environment
_SELF_REFERENCE = re.compile(r"^\$(\{(?P<name>[A-Za-z_]\w*)(:?-[^}]*)?\}|(?P<bare>[A-Za-z_]\w*))$")


def expand(word: str, variables: dict[str, str]) -> str:
    """``$NAME``, ``${NAME}`` and ``${NAME:-default}`` by what the script assigned, else the
    default; a reference to neither is left as written."""

    def value(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        if name in variables:
            return variables[name]
        return match.group("default") if match.group("default") is not None else match.group(0)

    return _REFERENCE.sub(value, word)


def _without_unset(words: list[str]) -> list[str]:
    """The words less the options whose value is a variable nothing sets (``--config "$CONF"``):
    without a shell, the program would get the ``$`` text itself."""
    kept: list[str] = []
    for word in words:
        if "$" in word and kept and kept[-1].startswith("-") and "=" not in kept[-1]:
            kept.pop()
        elif not (word.startswith("-") and "=$" in word):
            kept.append(word)
    return kept


def _script_text(written: str, scripts: dict[str, str]) -> str | None:
    """A script by its path as written (``./boot.sh``, ``/code/docker-entrypoint.sh``, ``scripts/prestart.sh``)."""
    relative = written.removeprefix("./")
    if relative in scripts:
        return scripts[relative]
    same_name = [text for path, text in scripts.items() if Path(path).name == Path(written).name]
    return same_name[0] if len(same_name) == 1 else None


def _package_script(words: list[str]) -> str | None:
    """The package.json script a command runs: ``npm start``, ``npm run NAME``, ``yarn NAME``."""
    if words[0] not in _PACKAGE_MANAGERS or len(words) < 2:
        return None
    if words[1] in ("run", "run-script") and len(words) > 2:
        return words[2]
    if words[1] in ("start", "test", "stop", "restart"):
        return words[1]
    return words[1] if words[0] != "npm" and not words[1].startswith("-") else None


def _script_of(words: list[str]) -> str | None:
    if words[0] in ("sh", "bash") and len(words) > 1 and not words[1].startswith("-"):
        return words[1]
    if words[0].endswith(".sh"):
        return words[0]
    return None


def _add_step(found: Deploy, words: list[str]) -> None:
    step = setup_step(words)
    text = " ".join(words)
    if is_migration(words):
        found.migrates = True
    if step is not None:
        if not any(same_step(step, known) for known in found.setup):
            found.setup.append(step)
    elif text not in found.skipped:
        found.skipped.append(text)


def same_step(one: list[str], other: list[str]) -> bool:
    """``manage.py migrate`` and ``manage.py migrate --noinput`` are one step."""
    return [w for w in one if not w.startswith("-")] == [w for w in other if not w.startswith("-")]
