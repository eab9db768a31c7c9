"""The app's GET routes with their full paths, read from code without running it.

Routes are declared on routers and blueprints (``APIRouter(prefix=...)``, ``Blueprint(
url_prefix=...)``) that are mounted with a prefix of their own (``include_router(r,
prefix=settings.API_V1_STR)``, ``register_blueprint(bp, url_prefix="/auth")``), often in
another module. This module records each piece per module, then joins them: a route's
path is the prefixes along the chain from the app down to it. Prefixes that are constants,
f-strings or settings fields with a literal default are evaluated statically."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

#: decorator/dependency names that say a route needs a logged-in user
_AUTH = re.compile(r"login_required|auth|token|current_user|currentuser|superuser|permission|admin|jwt", re.I)
_APPS = {"FastAPI", "Flask", "Starlette", "Quart", "Sanic"}
_ROUTERS = {"APIRouter": "prefix", "Blueprint": "url_prefix", "Router": "prefix"}


@dataclass(frozen=True)
class Route:
    path: str
    #: a logged-in user is needed (an auth decorator or dependency): not a probe for load or outages
    protected: bool


@dataclass
class _Module:
    name: str
    #: local name -> (module, attribute or None for a module)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)
    apps: set[str] = field(default_factory=set)
    #: router variable -> (its own prefix expression, protected by router-level dependencies, class)
    routers: dict[str, tuple[ast.expr | None, bool, str]] = field(default_factory=dict)
    #: (router variable, path, protected)
    routes: list[tuple[str, str, bool]] = field(default_factory=list)
    #: (parent variable, child expression, prefix expression or None)
    mounts: list[tuple[str, ast.expr, ast.expr | None]] = field(default_factory=list)
    #: the app's openapi_url expression (None: the default), or False when switched off
    openapi: list[ast.expr | None] = field(default_factory=list)


class RouteMap:
    """Collects modules (``add``), then answers ``routes()`` and ``openapi_urls()``."""

    def __init__(self) -> None:
        self.modules: dict[str, _Module] = {}
        #: attribute name -> literal string defaults of class fields and module constants
        self.fields: dict[str, set[str]] = {}

    def add(self, module: str, tree: ast.Module, is_package: bool) -> None:
        found = _Module(module)
        package = module if is_package else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _absolute(node, package)
                for alias in node.names:
                    found.imports[alias.asname or alias.name] = (base, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    found.imports[alias.asname or alias.name.split(".")[0]] = (alias.name, None)
            elif isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                        self._field(statement)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                _routes_of(found, node)
            elif isinstance(node, ast.Call):
                _mount(found, node)
        for statement in tree.body:
            if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                self._field(statement)
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                for target in targets:
                    if isinstance(target, ast.Name) and statement.value is not None:
                        found.constants[target.id] = statement.value
        for node in ast.walk(tree):  # apps and routers are often made inside a factory function
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                _instance(found, node)
        self.modules[module] = found

    def _field(self, statement: ast.Assign | ast.AnnAssign) -> None:
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        value = statement.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for target in targets:
                if isinstance(target, ast.Name):
                    self.fields.setdefault(target.id, set()).add(value.value)

    def evaluate(self, module: _Module, node: ast.expr | None, depth: int = 0) -> str | None:
        """A string expression's value when it can be known without running anything."""
        if node is None or depth > 8:
            return None
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inner = value.value if isinstance(value, ast.FormattedValue) else value
                text = self.evaluate(module, inner, depth + 1)
                if text is None:
                    return None
                parts.append(text)
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.evaluate(module, node.left, depth + 1), self.evaluate(module, node.right, depth + 1)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.Name):
            if node.id in module.constants:
                return self.evaluate(module, module.constants[node.id], depth + 1)
            source = module.imports.get(node.id)
            if source and source[1] and source[0] in self.modules:
                other = self.modules[source[0]]
                if source[1] in other.constants:
                    return self.evaluate(other, other.constants[source[1]], depth + 1)
            return None
        if isinstance(node, ast.Attribute):  # settings.API_V1_STR: a field with one literal default
            values = self.fields.get(node.attr, set())
            return next(iter(values)) if len(values) == 1 else None
        return None

    def _resolve(self, module: _Module, node: ast.expr) -> tuple[str, str] | None:
        """(module, variable) that a name or ``module.attribute`` expression stands for."""
        if isinstance(node, ast.Name):
            if node.id in module.routers or node.id in module.apps:
                return module.name, node.id
            source = module.imports.get(node.id)
            if source and source[1]:
                if f"{source[0]}.{source[1]}" in self.modules:  # from package import submodule
                    return None
                return source[0], source[1]
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            source = module.imports.get(node.value.id)
            if source:
                target = f"{source[0]}.{source[1]}" if source[1] else source[0]
                return target, node.attr
        return None

    def routes(self) -> list[Route]:
        """Every GET route with its full path. A router's base is where it is mounted plus its
        own prefix (a Flask blueprint registered with ``url_prefix`` uses that one instead)."""
        bases: dict[tuple[str, str], set[str]] = {}
        for module in self.modules.values():
            for app in module.apps:
                bases[(module.name, app)] = {""}
        edges: list[tuple[tuple[str, str], tuple[str, str], str | None]] = []
        for module in self.modules.values():
            for parent, child, prefix in module.mounts:
                target = self._resolve(module, child)
                if target is not None:
                    edges.append(((module.name, parent), target, self.evaluate(module, prefix) if prefix else None))
        for _ in range(8):  # mounts nest a few levels deep at most
            changed = False
            for above, below, mounted_at in edges:
                for base in list(bases.get(above, ())):
                    full = self._base(below, _join(base, mounted_at or ""), replaced=mounted_at is not None)
                    if full not in bases.setdefault(below, set()):
                        bases[below].add(full)
                        changed = True
            if not changed:
                break
        found: list[Route] = []
        for module in self.modules.values():
            for router, path, protected in module.routes:
                key = self._resolve(module, ast.Name(router)) or (module.name, router)
                owner = self.modules.get(key[0])
                guarded = owner is not None and owner.routers.get(key[1], (None, False, ""))[1]
                for base in sorted(bases.get(key) or {self._base(key, "", replaced=False)}):
                    route = Route(_join(base, path), protected or guarded)
                    if route not in found:
                        found.append(route)
        return found

    def _base(self, key: tuple[str, str], mounted_at: str, *, replaced: bool) -> str:
        module = self.modules.get(key[0])
        if module is None or key[1] not in module.routers:
            return mounted_at
        own, _, kind = module.routers[key[1]]
        if kind == "Blueprint" and replaced:
            return mounted_at
        return _join(mounted_at, self.evaluate(module, own) or "") if own is not None else mounted_at

    def openapi_urls(self) -> list[str]:
        urls = []
        for module in self.modules.values():
            for expression in module.openapi:
                if expression is None:
                    urls.append("/openapi.json")
                else:
                    value = self.evaluate(module, expression)
                    if value:
                        urls.append(value)
        return urls


def _join(base: str, path: str) -> str:
    if not path:
        return base
    if not base:
        return path if path.startswith("/") else "/" + path
    return base.rstrip("/") + "/" + path.lstrip("/")


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".") if package else []
    base = parts[: len(parts) - node.level + 1] if node.level > 1 else parts
    return ".".join([*base, *([node.module] if node.module else [])])


def _call_name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _keyword(call: ast.Call, *names: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg in names), None)


def _instance(module: _Module, node: ast.Assign) -> None:
    assert isinstance(node.value, ast.Call)
    kind = _call_name(node.value.func)
    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
    if kind in _APPS:
        module.apps.update(names)
        if kind == "FastAPI":
            expression = _keyword(node.value, "openapi_url")
            if not (isinstance(expression, ast.Constant) and expression.value is None):
                module.openapi.append(expression)
    elif kind in _ROUTERS:
        prefix = _keyword(node.value, _ROUTERS[kind])
        guarded = _AUTH.search(ast.unparse(_keyword(node.value, "dependencies") or ast.Constant(""))) is not None
        for name in names:
            module.routers[name] = (prefix, guarded, kind)


def _mount(module: _Module, call: ast.Call) -> None:
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and call.args):
        return
    if func.attr == "include_router":
        module.mounts.append((func.value.id, call.args[0], _keyword(call, "prefix")))
    elif func.attr == "register_blueprint":
        module.mounts.append((func.value.id, call.args[0], _keyword(call, "url_prefix")))


def _routes_of(module: _Module, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    decorators = [ast.unparse(d) for d in node.decorator_list]
    parameters = ast.unparse(node.args)
    for decorator in node.decorator_list:
        if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
            continue
        method = decorator.func.attr
        if method not in ("get", "route", "api_route") or not decorator.args:
            continue
        first = decorator.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        methods = _keyword(decorator, "methods")
        if method != "get" and methods is not None and "GET" not in ast.unparse(methods).upper():
            continue
        owner = _call_name(decorator.func.value)
        others = [text for d, text in zip(node.decorator_list, decorators, strict=True) if d is not decorator]
        protected = bool(
            _AUTH.search(" ".join(others))
            or _AUTH.search(ast.unparse(_keyword(decorator, "dependencies") or ast.Constant("")))
            or _AUTH.search(parameters)
        )
        module.routes.append((owner, first.value, protected))
