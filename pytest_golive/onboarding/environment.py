"""Which environment variables an app reads, found in its code and its dotenv files.

The app only uses the services golive provisions when every name it reads for them is
set, and read is more than ``os.environ[...]``: ``.get``, ``getenv``, ``setdefault``,
``"X" in os.environ``, pydantic settings classes (with ``env_prefix``, aliases and
inheritance), django-environ, python-decouple, Starlette's ``Config``, dj-database-url and
Flask's ``from_prefixed_env``. Each read records whether the app has a default.

A settings field whose type is a model of the repository's, with ``env_nested_delimiter``
set, is read field by field (``DATABASE__HOSTNAME``): those are the names to set."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

#: the modules whose ``getenv``/``environ`` these are
_OS_MODULES = {"os", "posix"}
#: constructors of config readers called as ``reader("NAME", default=...)`` or ``reader.bool("NAME")``
_READER_CLASSES = {"Env", "Config", "AutoConfig", "Environs", "RepositoryEnv"}
_READER_MODULES = {"decouple", "environ", "environs", "starlette.config"}
_SETTINGS_BASES = {"BaseSettings"}
_POSTGRES_WORD = re.compile(r"(?i)^(postgres|postgresql|pgsql)$")


@dataclass(frozen=True)
class EnvRead:
    """One variable the app reads: ``required`` when it has no default (it fails without it)."""

    name: str
    where: str
    how: str
    required: bool
    default: str | None = None
    #: the values it may take, when its settings field is an Enum or a Literal (``DatabaseType``)
    choices: tuple[str, ...] = ()


@dataclass
class SettingsClass:
    """A pydantic settings class as written: its bases, fields and ``env_prefix``."""

    name: str
    bases: list[str]
    where: str
    prefix: str | None = None
    #: ``env_nested_delimiter``: a field that is a model is read as NAME + this + its field's name
    nested_delimiter: str | None = None
    #: field name -> (env names, has a default, the default when it is a constant, line)
    fields: dict[str, tuple[list[str], bool, str | None, int]] = field(default_factory=dict)
    env_files: list[str] = field(default_factory=list)
    #: field name -> its annotation
    annotations: dict[str, ast.expr] = field(default_factory=dict)
    #: an Enum's members with string values (``POSTGRESQL = "POSTGRESQL"``): their values
    members: list[str] = field(default_factory=list)


def _const(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
        return str(node.value)
    return None


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


class _Aliases:
    """What the names of one module stand for: ``os``, ``environ``, ``getenv``, reader objects."""

    def __init__(self, tree: ast.Module) -> None:
        self.environ: set[str] = set()  # local names bound to os.environ
        self.getenv: set[str] = set()
        self.readers: set[str] = set()
        #: names given a default in the reader's constructor: ``environ.Env(DEBUG=(bool, False))``
        self.reader_defaults: set[str] = set()
        self.os: set[str] = set()
        self.dj_database_url: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in _OS_MODULES:
                        self.os.add(alias.asname or alias.name)
                    elif alias.name == "dj_database_url":
                        self.dj_database_url.add(alias.asname or alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module in _OS_MODULES:
                for alias in node.names:
                    if alias.name == "environ":
                        self.environ.add(alias.asname or "environ")
                    elif alias.name == "getenv":
                        self.getenv.add(alias.asname or "getenv")
            elif isinstance(node, ast.ImportFrom) and node.module == "decouple":
                self.readers |= {alias.asname or alias.name for alias in node.names if alias.name == "config"}
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and _name(node.value.func) in _READER_CLASSES
            ):
                self.readers |= {t.id for t in node.targets if isinstance(t, ast.Name)}
                self.reader_defaults |= {kw.arg for kw in node.value.keywords if kw.arg}

    def is_environ(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.environ
        return isinstance(node, ast.Attribute) and node.attr == "environ" and _name(node.value) in self.os

    def is_getenv(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.getenv
        return isinstance(node, ast.Attribute) and node.attr == "getenv" and _name(node.value) in self.os

    def is_reader(self, node: ast.expr) -> bool:
        """``env(...)``, ``env.bool(...)``, ``config(...)`` of a reader object of this module."""
        if isinstance(node, ast.Name):
            return node.id in self.readers
        return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.readers


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def reads_in_module(tree: ast.Module, where: str) -> Iterator[EnvRead]:
    """Every variable one module reads, with ``where`` as ``path`` (the line is added)."""
    return (read for _, read in _reads_with_nodes(tree, where))


def postgres_scheme_checks(tree: ast.Module) -> Iterator[str]:
    """Names whose value the code tests for Heroku's ``postgres://`` scheme, on the read itself
    (``os.environ["DATABASE_URL"].startswith("postgres://")``) or on a variable it was
    assigned to. Such code may act only on that form, so the app gets its URL in it."""
    read_name = _read_names(tree)
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "startswith"
            and node.args
            and (_const(node.args[0]) or "").startswith("postgres://")
        ):
            continue
        name = read_name(node.func.value)
        if name:
            yield name


def postgres_comparisons(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """Where the code compares a variable with a name of Postgres: (the variable, that name).
    The variable is the one read (``os.getenv("DB") == "postgres"``, also through a name it
    was assigned to), else the name or attribute compared (``settings.DB_ENGINE ==
    "postgres"``: a settings field). A switch to Postgres must get exactly that spelling."""
    read_name = _read_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            for value, other in ((node.left, node.comparators[0]), (node.comparators[0], node.left)):
                spelling = _const(other)
                name = read_name(value) or _name(value)
                if spelling and name and _POSTGRES_WORD.match(spelling):
                    yield name, spelling


#: Django settings it refuses to start without (``ImproperlyConfigured``)
_DJANGO_REQUIRED = {"SECRET_KEY"}


def django_required(tree: ast.Module) -> Iterator[str]:
    """Variables a Django settings module needs though it reads them as optional:
    ``SECRET_KEY = os.environ.get("SECRET_KEY")`` (``or None``) leaves Django without one."""
    read_at = {id(node): read for node, read in _reads_with_nodes(tree, "")}
    for statement in tree.body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            continue
        target, value = statement.targets[0], statement.value
        if not (isinstance(target, ast.Name) and target.id in _DJANGO_REQUIRED):
            continue
        if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or) and not any(_const(v) for v in value.values):
            value = value.values[0]  # os.environ.get("SECRET_KEY") or None: no default either
        read = read_at.get(id(value))
        if read is not None and isinstance(value, ast.Call) and len(value.args) == 1 and not value.keywords:
            yield read.name  # no default at all: env.str("SECRET_KEY", "") may be a fallback's cue (wger)


def _read_names(tree: ast.Module) -> Callable[[ast.expr], str | None]:
    """The variable an expression holds: a read itself, or a name a read was assigned to."""
    read_at = {id(node): read.name for node, read in _reads_with_nodes(tree, "")}
    assigned = {
        target.id: read_at[id(node.value)]
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and id(node.value) in read_at
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def name_of(node: ast.expr) -> str | None:
        return read_at.get(id(node)) or (assigned.get(node.id) if isinstance(node, ast.Name) else None)

    return name_of


def _reads_with_nodes(tree: ast.Module, where: str) -> Iterator[tuple[ast.AST, EnvRead]]:
    """Each read with the expression that makes it."""
    aliases = _Aliases(tree)
    guarded = _guarded_names(tree, aliases)
    conditional = _conditional_nodes(tree)
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Subscript) and aliases.is_environ(node.value) and isinstance(node.ctx, ast.Load):
            name = _const(node.slice)
            if name:
                required = name not in guarded and id(node) not in conditional
                yield node, EnvRead(name, line, "os.environ[...]", required=required)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            name = _const(node.left)
            if name and aliases.is_environ(node.comparators[0]):
                yield node, EnvRead(name, line, "in os.environ", required=False)
        elif isinstance(node, ast.Call):
            for read in _call_reads(node, aliases, line):
                # env.str("EMAIL_HOST") under ``if env.bool("ENABLE_EMAIL")``: needed only when that is on
                yield node, replace(read, required=read.required and id(node) not in conditional)


def path_fallbacks(tree: ast.Module, where: str) -> Iterator[tuple[str, str]]:
    """(variable, absolute path) the code uses when the variable is unset: ``os.getenv("X",
    "/app/data")``, ``os.getenv("X") or "/app/data"``, or mealie's ``DATA_DIR =
    os.getenv("DATA_DIR")`` and later ``Path(DATA_DIR if DATA_DIR else "/app/data")``."""
    reads = {id(node): read for node, read in _reads_with_nodes(tree, where)}
    holders: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and id(node.value) in reads:
            holders.update({t.id: reads[id(node.value)].name for t in node.targets if isinstance(t, ast.Name)})

    def variable(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return holders.get(node.id)
        return reads[id(node)].name if id(node) in reads else None

    for read in reads.values():
        if read.default and read.default.startswith("/"):
            yield read.name, read.default
    for node in ast.walk(tree):
        pairs: list[tuple[ast.expr, ast.expr]] = []
        if isinstance(node, ast.IfExp):
            pairs.append((node.body, node.orelse))
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2:
            pairs.append((node.values[0], node.values[1]))
        for value, fallback in pairs:
            name, path = variable(value), _const(fallback)
            if name and path and path.startswith("/"):
                yield name, path


def _conditional_nodes(tree: ast.Module) -> set[int]:
    """Nodes inside an ``if``, ``try`` or a loop: code that may not run, so its reads are optional."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.Try, ast.For, ast.While, ast.IfExp)):
            branches = [*node.body, *node.orelse] if isinstance(node, ast.If) else [node]
            for branch in branches if not isinstance(node, ast.IfExp) else [node.body, node.orelse]:
                found.update(id(inner) for inner in ast.walk(branch))
    return found


def _guarded_names(tree: ast.Module, aliases: _Aliases) -> set[str]:
    """Names tested with ``"X" in os.environ`` somewhere: their ``os.environ["X"]`` is optional."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            name = _const(node.left)
            if name and aliases.is_environ(node.comparators[0]):
                found.add(name)
    return found


def _call_reads(call: ast.Call, aliases: _Aliases, line: str) -> Iterator[EnvRead]:
    func = call.func
    first = _const(call.args[0]) if call.args else _const(_keyword(call, "key") or _keyword(call, "var"))
    if isinstance(func, ast.Attribute) and func.attr in ("get", "setdefault", "pop") and aliases.is_environ(func.value):
        if first:
            default = call.args[1] if len(call.args) > 1 else None
            yield EnvRead(first, line, f"os.environ.{func.attr}", required=False, default=_const(default))
    elif aliases.is_getenv(func):
        if first:
            default = call.args[1] if len(call.args) > 1 else _keyword(call, "default")
            yield EnvRead(first, line, "os.getenv", required=False, default=_const(default))
    elif aliases.is_reader(func):
        if first:
            default = _keyword(call, "default")
            if default is None and len(call.args) > 1 and isinstance(func, ast.Attribute):
                default = call.args[1]  # env.str("X", "default"); env("X", cast) has no positional default
            has_default = default is not None or first in aliases.reader_defaults
            yield EnvRead(first, line, "env reader", required=not has_default, default=_const(default))
    elif isinstance(func, ast.Attribute) and func.attr == "config" and _name(func.value) in aliases.dj_database_url:
        name = _const(_keyword(call, "env")) or "DATABASE_URL"
        yield EnvRead(name, line, "dj_database_url.config", required=False, default=_const(_keyword(call, "default")))
    elif isinstance(func, ast.Attribute) and func.attr == "from_prefixed_env":
        prefix = first or _const(_keyword(call, "prefix")) or "FLASK"
        for key in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "SECRET_KEY", "DEBUG"):
            yield EnvRead(f"{prefix}_{key}", line, "app.config.from_prefixed_env", required=False)


def passed_in(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """(class, field) for each field a call of a class gives by keyword: ``AppSettings(PRODUCTION=
    production)``, or ``AppSettings(**secrets)`` where ``secrets = {"SECRET": ...}`` is a dict
    literal of the module. Such a field is no variable the operator must set."""
    dicts: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            keys = [
                key.value for key in node.value.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)
            ]
            for target in node.targets:
                if isinstance(target, ast.Name):
                    dicts.setdefault(target.id, []).extend(keys)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func):
            for keyword in node.keywords:
                if keyword.arg is not None:
                    yield _name(node.func), keyword.arg
                elif isinstance(keyword.value, ast.Name):
                    yield from ((_name(node.func), key) for key in dicts.get(keyword.value.id, []))
                elif isinstance(keyword.value, ast.Dict):
                    literal = [k.value for k in keyword.value.keys if isinstance(k, ast.Constant)]
                    yield from ((_name(node.func), key) for key in literal if isinstance(key, str))


def settings_classes(tree: ast.Module, where: str) -> Iterator[SettingsClass]:
    """Classes of one module that may be pydantic settings (their bases are resolved later)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef) or not node.bases:
            continue
        found = SettingsClass(node.name, [_name(base) for base in node.bases], f"{where}:{node.lineno}")
        for statement in node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                _settings_field(found, statement.target.id, statement)
            elif isinstance(statement, ast.Assign) and _is_model_config(statement):
                _settings_config(found, statement.value)
            elif isinstance(statement, ast.Assign) and any("Enum" in base for base in found.bases):
                found.members += [value for value in [_const(statement.value)] if value is not None]
            elif isinstance(statement, ast.ClassDef) and statement.name == "Config":  # pydantic v1
                for inner in statement.body:
                    if isinstance(inner, ast.Assign) and isinstance(inner.targets[0], ast.Name):
                        _config_option(found, inner.targets[0].id, inner.value)
        yield found


def _is_model_config(statement: ast.Assign) -> bool:
    return any(isinstance(t, ast.Name) and t.id == "model_config" for t in statement.targets)


def _settings_config(found: SettingsClass, value: ast.expr) -> None:
    if isinstance(value, ast.Call):
        for keyword in value.keywords:
            if keyword.arg:
                _config_option(found, keyword.arg, keyword.value)
    elif isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values, strict=True):
            name = _const(key)
            if name:
                _config_option(found, name, item)


def _config_option(found: SettingsClass, option: str, value: ast.expr) -> None:
    if option == "env_prefix":
        found.prefix = _const(value) or ""
    elif option == "env_nested_delimiter":
        found.nested_delimiter = _const(value) or None
    elif option == "env_file":
        items = value.elts if isinstance(value, (ast.Tuple, ast.List)) else [value]
        found.env_files += [text for text in map(_const, items) if text]


def _settings_field(found: SettingsClass, name: str, statement: ast.AnnAssign) -> None:
    if name.startswith("_") or name == "model_config" or "ClassVar" in ast.unparse(statement.annotation):
        return
    value = statement.value
    aliases: list[str] = []
    has_default = value is not None
    default = _const(value)
    if isinstance(value, ast.Call) and _name(value.func) == "Field":
        for keyword in ("env", "alias", "validation_alias"):
            alias = _const(_keyword(value, keyword))
            if alias:
                aliases.append(alias)
        explicit = value.args[0] if value.args else _keyword(value, "default")
        factory = _keyword(value, "default_factory")
        has_default = factory is not None or (
            explicit is not None and not (isinstance(explicit, ast.Constant) and explicit.value is Ellipsis)
        )
        default = _const(explicit)
    found.fields[name] = (aliases, has_default, default, statement.lineno)
    found.annotations[name] = statement.annotation


def settings_reads(classes: list[SettingsClass]) -> Iterator[EnvRead]:
    """The variables of every class that derives, through the repository's own classes, from BaseSettings."""
    by_name = {cls.name: cls for cls in classes}

    def lineage(cls: SettingsClass, seen: frozenset[str] = frozenset()) -> list[SettingsClass] | None:
        if cls.name in seen:
            return None
        for base in cls.bases:
            if base in _SETTINGS_BASES:
                return [cls]
            parent = by_name.get(base)
            if parent is not None:
                above = lineage(parent, seen | {cls.name})
                if above is not None:
                    return [cls, *above]
        return None

    def fields_of(chain: list[SettingsClass]) -> dict[str, tuple[list[str], bool, str | None, str, ast.expr | None]]:
        """Field name -> (env aliases, has a default, its default, where, annotation), subclasses
        overriding their bases."""
        found: dict[str, tuple[list[str], bool, str | None, str, ast.expr | None]] = {}
        for member in reversed(chain):
            path = member.where.rsplit(":", 1)[0]
            for name, (aliases, has_default, default, line) in member.fields.items():
                found[name] = (aliases, has_default, default, f"{path}:{line}", member.annotations.get(name))
        return found

    def group_of(annotation: ast.expr | None) -> list[SettingsClass] | None:
        """The model a field's type names (``Database``, ``Database | None``), with its bases."""
        nodes = ast.walk(annotation) if annotation is not None else iter(())
        names = [_name(node) for node in nodes if isinstance(node, (ast.Name, ast.Attribute))]
        group = next((by_name[name] for name in names if name in by_name and not by_name[name].members), None)
        if group is None or lineage(group) is not None:
            return None
        chain, seen = [group], {group.name}
        while parent := next((by_name[b] for b in chain[-1].bases if b in by_name and b not in seen), None):
            chain.append(parent)
            seen.add(parent.name)
        return chain

    def reads(
        cls: SettingsClass,
        fields: dict[str, tuple[list[str], bool, str | None, str, ast.expr | None]],
        *,
        prefix: str,
        delimiter: str | None,
        optional: bool,
        depth: int = 0,
    ) -> Iterator[EnvRead]:
        for name, (aliases, has_default, default, where, annotation) in fields.items():
            env = aliases or [(prefix + name).upper()]
            group = group_of(annotation) if delimiter and depth < 3 else None
            if group is not None:
                for variable in env:
                    inner = f"{variable}{delimiter}".upper()
                    yield from reads(
                        cls,
                        fields_of(group),
                        prefix=inner,
                        delimiter=delimiter,
                        optional=optional or has_default,
                        depth=depth + 1,
                    )
                continue
            choices = _choices(annotation, by_name)
            for variable in env:
                yield EnvRead(
                    variable,
                    where,
                    f"{cls.name} field",
                    required=not (has_default or optional),
                    default=default,
                    choices=choices,
                )

    for cls in classes:
        chain = lineage(cls)
        if chain is None:
            continue
        prefix = next((c.prefix for c in chain if c.prefix is not None), "")
        delimiter = next((c.nested_delimiter for c in chain if c.nested_delimiter), None)
        yield from reads(cls, fields_of(chain), prefix=prefix, delimiter=delimiter, optional=False)


def _choices(annotation: ast.expr | None, classes: dict[str, SettingsClass]) -> tuple[str, ...]:
    """The values an annotation allows: an Enum of the repository's, or ``Literal[...]``."""
    if annotation is None:
        return ()
    if isinstance(annotation, ast.Subscript) and _name(annotation.value) == "Literal":
        items = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        return tuple(value for value in map(_const, items) if value is not None)
    enum = classes.get(_name(annotation))
    return tuple(enum.members) if enum is not None else ()


def env_files_of(classes: list[SettingsClass]) -> list[str]:
    return [name for cls in classes for name in cls.env_files]


def is_dotenv_file(path: Path) -> bool:
    """.env, .env.example, .env.sample, .flaskenv, env.example, example.env ..."""
    name = path.name.lower()
    return (
        name in (".env", ".flaskenv", "env.example", "env.sample", "example.env", "sample.env", ".envrc")
        or name.startswith(".env.")
        or name.endswith(".env")
    )
