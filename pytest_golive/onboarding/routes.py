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
_REDIRECT = re.compile(r"^(RedirectResponse|redirect|HttpResponseRedirect|HttpResponsePermanentRedirect)$")


@dataclass(frozen=True)
class Route:
    path: str
    #: a logged-in user is needed (an auth decorator or dependency): not a probe for load or outages
    protected: bool
    #: its handler answers with a redirect (``RedirectResponse``, ``redirect()``): nothing to load
    redirects: bool = False
    #: its router was traced to an app: the path is whole (an untraced router's prefix may be missing)
    reached: bool = True
    #: its handler needs a query parameter the path does not give (``def check(name: str)``):
    #: requested bare, it answers 422 before it does anything
    asks: bool = False


@dataclass
class _Module:
    name: str
    #: local name -> (module, attribute or None for a module)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)
    apps: set[str] = field(default_factory=set)
    #: router variable -> (its own prefix expression, protected by router-level dependencies, class)
    routers: dict[str, tuple[ast.expr | None, bool, str]] = field(default_factory=dict)
    #: (router variable, path, protected, redirects, asks for a query parameter, the class the
    #: handler is a method of, or "")
    routes: list[tuple[str, str, bool, bool, bool, str]] = field(default_factory=list)
    #: (parent variable, child expression, prefix expression or None)
    mounts: list[tuple[str, ast.expr, ast.expr | None]] = field(default_factory=list)
    #: (app variable, its openapi_url expression or None for the default); apps that switch it off are left out
    openapi: list[tuple[str, ast.expr | None]] = field(default_factory=list)
    #: classes of this module that derive from an app class (``class CustomFlask(Flask)``)
    app_classes: set[str] = field(default_factory=set)
    #: function -> the mounts it makes on its router parameter (``def include_routers(router)``)
    param_mounts: dict[str, list[tuple[ast.expr, ast.expr | None]]] = field(default_factory=dict)
    #: ``name = SomeClass(...)`` at any level, of a class that is not a known router: it may be a
    #: router subclass of the repository's, known once every module is read
    others: list[tuple[list[str], ast.Call]] = field(default_factory=list)


class RouteMap:
    """Collects modules (``add``), then answers ``routes()`` and ``openapi_urls()``."""

    def __init__(self) -> None:
        self.modules: dict[str, _Module] = {}
        #: attribute name -> literal string defaults of class fields and module constants
        self.fields: dict[str, set[str]] = {}
        #: the repository's router classes (``class UserAPIRouter(APIRouter)``) -> whether they
        #: guard every route with a login dependency (``dependencies=[Depends(get_current_user)]``)
        self.router_classes: dict[str, bool] = {}
        #: every class -> (its bases, a class attribute is a login dependency): a class-based
        #: view (``user = Depends(get_current_user)``) guards the routes of its methods
        self.classes: dict[str, tuple[list[str], bool]] = {}

    def add(self, module: str, tree: ast.Module, is_package: bool) -> None:
        found = _Module(module)
        package = module if is_package else module.rpartition(".")[0]
        found.app_classes = {
            node.name
            for node in tree.body
            if isinstance(node, ast.ClassDef) and any(_call_name(base) in _APPS for base in node.bases)
        }
        _param_mounts(found, tree)
        methods = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                body = node.body
                attributes = [
                    ast.unparse(n.value) for n in body if isinstance(n, (ast.Assign, ast.AnnAssign)) and n.value
                ]
                guarded = any("Depends(" in text and _AUTH.search(text) for text in attributes)
                self.classes[node.name] = ([_call_name(base) for base in node.bases], guarded)
                functions = (ast.FunctionDef, ast.AsyncFunctionDef)
                methods.update({id(n): node.name for n in body if isinstance(n, functions)})
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _absolute(node, package)
                for alias in node.names:
                    found.imports[alias.asname or alias.name] = (base, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    found.imports[alias.asname or alias.name.split(".")[0]] = (alias.name, None)
            elif isinstance(node, ast.ClassDef):
                if any(_call_name(base) in _ROUTERS for base in node.bases):
                    self.router_classes[node.name] = _AUTH.search(_dependencies_text(node)) is not None
                for statement in node.body:
                    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                        self._field(statement)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                _routes_of(found, node, methods.get(id(node), ""))
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
                return self._reexported(source[0], source[1])
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            source = module.imports.get(node.value.id)
            if source:
                target = f"{source[0]}.{source[1]}" if source[1] else source[0]
                return self._reexported(target, node.attr)
        return None

    def _reexported(self, module_name: str, name: str) -> tuple[str, str]:
        """Where a name imported from a package really lives: ``from fief.apps import
        dashboard_app`` is ``app`` of fief.apps.dashboard.app when fief/apps/__init__.py
        imports it so."""
        for _ in range(8):
            module = self.modules.get(module_name)
            if module is None or name in module.apps or name in module.routers or name not in module.imports:
                break
            module_name, imported = module.imports[name]
            if imported is None:
                break
            name = imported
        return module_name, name

    def _bases(self) -> dict[tuple[str, str], set[str]]:
        """(module, variable) of every app and router traced from a root app -> the paths it is
        mounted at. A root app is one that no other app mounts (``app.mount("/admin", sub)``)."""
        self._router_subclasses()
        bases: dict[tuple[str, str], set[str]] = {}
        edges: list[tuple[tuple[str, str], tuple[str, str], str | None]] = []
        for module in self.modules.values():
            for parent, child, prefix in module.mounts:
                target = self._resolve(module, child)
                if target is not None:
                    edges.append(((module.name, parent), target, self.evaluate(module, prefix) if prefix else None))
        mounted = {below for _, below, _ in edges}
        for module in self.modules.values():
            for app in module.apps:
                if (module.name, app) not in mounted:
                    bases[(module.name, app)] = {""}
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
        return bases

    def _router_subclasses(self) -> None:
        """Routers made from the repository's own router classes, once every module is read."""
        for module in self.modules.values():
            for names, call in module.others:
                kind = _call_name(call.func)
                if kind in self.router_classes:
                    dependencies = ast.unparse(_keyword(call, "dependencies") or ast.Constant(""))
                    guarded = self.router_classes[kind] or _AUTH.search(dependencies) is not None
                    for name in names:
                        module.routers.setdefault(name, (_keyword(call, "prefix"), guarded, "APIRouter"))

    def _guarded_view(self, name: str, depth: int = 0) -> bool:
        """A class (or a base of it, in the repository) has a login dependency as an attribute."""
        if not name or name not in self.classes or depth > 8:
            return False
        bases, guarded = self.classes[name]
        return guarded or any(self._guarded_view(base, depth + 1) for base in bases)

    def routes(self) -> list[Route]:
        """Every GET route with its full path. A router's base is where it is mounted plus its
        own prefix (a Flask blueprint registered with ``url_prefix`` uses that one instead)."""
        bases = self._bases()
        found: list[Route] = []
        for module in self.modules.values():
            for router, path, guarded_route, redirects, asks, cls in module.routes:
                protected = guarded_route or self._guarded_view(cls)
                key = self._resolve(module, ast.Name(router)) or (module.name, router)
                owner = self.modules.get(key[0])
                guarded = owner is not None and owner.routers.get(key[1], (None, False, ""))[1]
                reached = bool(bases.get(key))
                for base in sorted(bases.get(key) or {self._base(key, "", replaced=False)}):
                    route = Route(_join(base, path), protected or guarded, redirects, reached, asks)
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
        """The API schema of each app, where the app is mounted."""
        bases = self._bases()
        urls = []
        for module in self.modules.values():
            for app, expression in module.openapi:
                value = "/openapi.json" if expression is None else self.evaluate(module, expression)
                for base in sorted(bases.get((module.name, app), set())):
                    if value and _join(base, value) not in urls:
                        urls.append(_join(base, value))
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
    if kind in module.param_mounts and node.value.args:  # router = include_routers(APIRouter(prefix=...))
        inner = node.value.args[0]
        prefix = (
            _keyword(inner, _ROUTERS.get(_call_name(inner.func), "prefix")) if isinstance(inner, ast.Call) else None
        )
        for name in names:
            module.routers[name] = (prefix, False, "APIRouter")
            module.mounts += [(name, child, mounted_at) for child, mounted_at in module.param_mounts[kind]]
    elif kind in _APPS or kind in module.app_classes:
        module.apps.update(names)
        if kind == "FastAPI":
            expression = _keyword(node.value, "openapi_url")
            if not (isinstance(expression, ast.Constant) and expression.value is None):
                module.openapi += [(name, expression) for name in names]
    elif kind in _ROUTERS:
        prefix = _keyword(node.value, _ROUTERS[kind])
        guarded = _AUTH.search(ast.unparse(_keyword(node.value, "dependencies") or ast.Constant(""))) is not None
        for name in names:
            module.routers[name] = (prefix, guarded, kind)
    elif kind:
        module.others.append((names, node.value))


def _dependencies_text(node: ast.ClassDef) -> str:
    """The ``dependencies=`` a router class passes to its base (``super().__init__(...,
    dependencies=[Depends(get_admin_user)])``), as text."""
    found = []
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            dependencies = _keyword(call, "dependencies")
            if dependencies is not None:
                found.append(ast.unparse(dependencies))
    return " ".join(found)


def _mount(module: _Module, call: ast.Call) -> None:
    found = _mounting(call)
    if found is not None:
        module.mounts.append(found)


def _mounting(call: ast.Call) -> tuple[str, ast.expr, ast.expr | None] | None:
    """(parent variable, child, prefix) of ``include_router``, ``register_blueprint`` and a
    Starlette/FastAPI ``mount("/path", app)`` of another app or router."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and call.args):
        return None
    if func.attr == "include_router":
        return func.value.id, call.args[0], _keyword(call, "prefix")
    if func.attr == "register_blueprint":
        return func.value.id, call.args[0], _keyword(call, "url_prefix")
    child = call.args[1] if len(call.args) > 1 else _keyword(call, "app")
    if func.attr == "mount" and isinstance(child, (ast.Name, ast.Attribute)):
        return func.value.id, child, call.args[0]
    return None


def _param_mounts(module: _Module, tree: ast.Module) -> None:
    """Mounts a module-level function makes on its first parameter, to repeat on each router
    it is called with: ``def include_routers(router): router.include_router(...)``."""
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef) or not function.args.args:
            continue
        parameter = function.args.args[0].arg
        mounts = [
            (child, prefix)
            for node in ast.walk(function)
            if isinstance(node, ast.Call)
            for parent, child, prefix in [_mounting(node) or ("", node, None)]
            if parent == parameter
        ]
        if mounts:
            module.param_mounts[function.name] = mounts


def _routes_of(module: _Module, node: ast.FunctionDef | ast.AsyncFunctionDef, cls: str) -> None:
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
        module.routes.append((owner, first.value, protected, _redirects(node), _asks(node, decorator), cls))


#: what a framework gives a handler itself, not the request's query string
_INJECTED = re.compile(r"\b(Depends|Security|Request|Response|WebSocket|BackgroundTasks|HTTPConnection)\b")


def _asks(node: ast.FunctionDef | ast.AsyncFunctionDef, decorator: ast.Call) -> bool:
    """The handler has a parameter without default that neither the path, the route's
    ``defaults=`` (Flask's catch-all ``route("/", defaults={"path": ""})``) nor the framework
    fills in: FastAPI reads it from the query string and answers 422 without it (mealie's
    ``def validate_user(name: str, session: Session = Depends(...))``)."""
    first = decorator.args[0]
    path = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
    defaults = _keyword(decorator, "defaults")
    given = {_const_str(key) for key in defaults.keys} if isinstance(defaults, ast.Dict) else set()
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    without_default = positional[: len(positional) - len(args.defaults)]
    without_default += [arg for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True) if default is None]
    in_path = set(re.findall(r"[{<](?:\w+:)?(\w+)", path))
    for arg in without_default:
        if arg.arg in ("self", "cls", "request", "req") or arg.arg in in_path or arg.arg in given:
            continue
        if arg.annotation is not None and _INJECTED.search(ast.unparse(arg.annotation)):
            continue
        return True
    return False


def _const_str(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _redirects(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Every ``return`` of the handler answers with a redirect."""
    returned = [n.value for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None]
    return bool(returned) and all(
        isinstance(value, ast.Call) and _REDIRECT.search(_call_name(value.func)) for value in returned
    )
