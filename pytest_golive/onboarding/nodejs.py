"""What a Node.js app's JavaScript/TypeScript says about the variables it reads, read as text.

Node apps read their settings as ``process.env.NAME``, ``process.env["NAME"]``, by
destructuring (``const { NAME = "x" } = process.env``), or through a validated spec such as
envalid's ``cleanEnv(process.env, { NAME: str({ default: "x", choices: [...] }) })``, whose
keys are the variables: a spec entry without ``default`` is required (``devDefault`` applies
only outside production, and golive runs the app as deployed)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .environment import EnvRead
from .routes import Route

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


#: ``const name = require("./file")``, ``import name from "./file"``, ``const { a, b } = require("./file")``
_REQUIRE = re.compile(r"""(?:const|let|var)\s+([\w$]+)\s*=\s*require\(\s*['"](\.{1,2}/[^'"]+)['"]\s*\)""")
_IMPORT = re.compile(r"""import\s+([\w$]+)\s+from\s+['"](\.{1,2}/[^'"]+)['"]""")
_REQUIRE_NAMES = re.compile(r"""(?:const|let|var)\s*\{([^{}]*)\}\s*=\s*require\(\s*['"](\.{1,2}/[^'"]+)['"]\s*\)""")
_IMPORT_NAMES = re.compile(r"""import\s*\{([^{}]*)\}\s*from\s+['"](\.{1,2}/[^'"]+)['"]""")
_ROUTER = re.compile(r"(?:const|let|var)\s+([\w$]+)\s*=\s*(?:new\s+)?(?:express\s*\.\s*)?Router\s*\(")
_APP = re.compile(r"(?:const|let|var)\s+([\w$]+)\s*=\s*express\s*\(\s*\)")
_GET = re.compile(r"""\b([\w$]+)\s*\.\s*(?:get|all)\(\s*['"`](/[^'"`]*)['"`]""")
_MOUNT = re.compile(r"""\b([\w$]+)\s*\.\s*use\(\s*(?:['"`](/[^'"`]*)['"`]\s*,)?([^()]*?)\)""")
_EXPORT_ONE = re.compile(r"""(?:module\.exports|export\s+default)\s*=?\s*([\w$]+)\s*;?\s*$""", re.M)
_EXPORT_REQUIRE = re.compile(r"""module\.exports\s*=\s*require\(\s*['"](\.{1,2}/[^'"]+)['"]\s*\)""")
_EXPORT_OBJECT = re.compile(r"""module\.exports\s*=\s*\{([^{}]*)\}""")
_EXPORT_NAMED = re.compile(
    r"""(?:module\.)?exports\.([\w$]+)\s*=\s*([\w$]+)|export\s+const\s+([\w$]+)\s*=\s*([\w$]+)\b"""
)
_SOURCE_SUFFIXES = ("", ".js", ".ts", ".mjs", ".cjs", "/index.js", "/index.ts")
_MAX_MOUNT_DEPTH = 8
#: what an app or router is usually called where no ``express()`` is seen (Fastify, Koa)
_USUAL_APP_NAMES = frozenset({"app", "router", "server", "fastify"})


class _Source:
    """What one JavaScript/TypeScript file says about Express routing."""

    def __init__(self, path: str, text: str, known: set[str]) -> None:
        self.path = path
        self.apps = set(_APP.findall(text))
        self.routers = set(_ROUTER.findall(text)) | self.apps
        self.routes = _GET.findall(text)
        self.mounts = [(parent, prefix, argument.strip()) for parent, prefix, argument in _MOUNT.findall(text)]
        #: local name -> (file, exported attribute or "" for the module itself)
        self.imports: dict[str, tuple[str, str]] = {}
        for name, target in [*_REQUIRE.findall(text), *_IMPORT.findall(text)]:
            resolved = _resolve(path, target, known)
            if resolved:
                self.imports[name] = (resolved, "")
        for names, target in [*_REQUIRE_NAMES.findall(text), *_IMPORT_NAMES.findall(text)]:
            resolved = _resolve(path, target, known)
            for entry in names.split(","):
                exported, _, local = entry.replace(" as ", ":").partition(":")
                if resolved and exported.strip():
                    self.imports[(local or exported).strip()] = (resolved, exported.strip())
        #: exported attribute ("" for the module itself) -> a local name, or "require:FILE"
        self.exports: dict[str, str] = {}
        for target in _EXPORT_REQUIRE.findall(text):
            resolved = _resolve(path, target, known)
            if resolved:
                self.exports[""] = "require:" + resolved
        for name in _EXPORT_ONE.findall(text):
            self.exports.setdefault("", name)
        for body in _EXPORT_OBJECT.findall(text):
            for entry in body.split(","):
                key, _, value = entry.partition(":")
                if key.strip():
                    self.exports[key.strip()] = (value or key).strip()
        for key, value, const_key, const_value in _EXPORT_NAMED.findall(text):
            self.exports[key or const_key] = value or const_value


def _resolve(path: str, target: str, known: set[str]) -> str | None:
    """``./routes`` from ``server/app.js`` -> ``server/routes/index.js``, when it is a file read."""
    base = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return next((base + suffix for suffix in _SOURCE_SUFFIXES if base + suffix in known), None)


def express_routes(sources: dict[str, str]) -> list[Route]:
    """GET routes of an Express app with their full paths: routers followed from the app
    (``express()``) through every ``use("/prefix", router)``, across ``require``/``import``.
    A router the app never mounts keeps its path as written, marked not reached; a ``use`` of
    anything else (``express.static``, middleware) is no route."""
    parsed = {path: _Source(path, text, set(sources)) for path, text in sources.items()}
    full: dict[tuple[str, str, str], None] = {}  # (file, router, path) reached, in order

    def routers_of(source: _Source, expression: str, depth: int) -> list[tuple[_Source, str]]:
        name, _, attribute = expression.partition(".")
        if name in source.routers and not attribute:
            return [(source, name)]
        if name not in source.imports or depth > _MAX_MOUNT_DEPTH:
            return []
        file, exported = source.imports[name]
        return exported_routers(parsed[file], exported or attribute, depth + 1)

    def exported_routers(source: _Source, attribute: str, depth: int) -> list[tuple[_Source, str]]:
        value = source.exports.get(attribute)
        if value is None and attribute:  # module.exports = require("./x"), then .api of it
            inner = source.exports.get("", "")
            if inner.startswith("require:"):
                return exported_routers(parsed[inner[8:]], attribute, depth + 1)
            return []
        if value is None or depth > _MAX_MOUNT_DEPTH:
            return []
        if value.startswith("require:"):
            return exported_routers(parsed[value[8:]], "", depth + 1)
        return routers_of(source, value, depth + 1)

    def walk(source: _Source, router: str, prefix: str, depth: int) -> None:
        for owner, path in source.routes:
            if owner == router:
                full.setdefault((source.path, router, _join(prefix, path)), None)
        for parent, mounted_at, arguments in source.mounts:
            if parent != router or depth > _MAX_MOUNT_DEPTH:
                continue
            for argument in arguments.split(","):
                for child_source, child in routers_of(source, argument.strip(), 0):
                    walk(child_source, child, _join(prefix, mounted_at or "/"), depth + 1)

    for source in parsed.values():
        for app in sorted(source.apps):
            walk(source, app, "", 0)
    routes = [Route(path, protected=False) for _, _, path in full]
    reached = {(file, router) for file, router, _ in full}
    for source in parsed.values():
        for owner, path in source.routes:
            if (source.path, owner) in reached:
                continue
            if owner in source.routers or (not full and owner in _USUAL_APP_NAMES):
                routes.append(Route(path, protected=False, reached=not full))
    return routes


def _join(prefix: str, path: str) -> str:
    joined = prefix.rstrip("/") + "/" + path.lstrip("/")
    return joined if joined == "/" else joined.rstrip("/")


@dataclass(frozen=True)
class NodeMigrations:
    """A Node migration CLI the walk can drive in command mode: all the way up, all the way
    down (neither knex nor sequelize-cli moves to a named revision), and its own tables."""

    tool: str
    upgrade: list[str]
    downgrade: list[str]
    version_table: str
    own_tables: list[str]
    where: str


def migration_cli(dependencies: set[str], app_files: dict[str, str]) -> NodeMigrations | None:
    """knex (a knexfile in the app folder; its ``tableName``) or sequelize-cli (``.sequelizerc``
    or a ``migrations/`` folder), as the app's own copy runs it (``npx --no-install``)."""
    knexfile = next((name for name in _KNEXFILES if name in app_files), None)
    if "knex" in dependencies and knexfile is not None:
        named = re.search(r"""tableName\s*:\s*['"]([\w.]+)['"]""", app_files[knexfile])
        table = named.group(1) if named else "knex_migrations"
        knex = ["npx", "--no-install", "knex"]
        return NodeMigrations(
            "knex", [*knex, "migrate:latest"], [*knex, "migrate:rollback", "--all"], table, [f"{table}_lock"], knexfile
        )
    sequelize = next((name for name in (".sequelizerc", "migrations") if name in app_files), None)
    if "sequelize-cli" in dependencies and sequelize is not None:
        cli = ["npx", "--no-install", "sequelize-cli"]
        return NodeMigrations(
            "sequelize-cli", [*cli, "db:migrate"], [*cli, "db:migrate:undo:all"], "SequelizeMeta", [], sequelize
        )
    return None


_KNEXFILES = ("knexfile.js", "knexfile.ts", "knexfile.cjs", "knexfile.mjs")
