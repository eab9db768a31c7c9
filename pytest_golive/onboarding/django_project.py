"""A Django project read from its files, without importing it: where manage.py is (the
folder the project runs in: ``src/manage.py`` is common), its settings module, what a deploy
must do before pages render (collected static files for a manifest storage), and its URLs,
with every ``include()`` joined to its prefix from ROOT_URLCONF down."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .routes import Route
from .sources import parse_python, read_text

#: ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x")`` (a default, group 1 is ",") or
#: ``os.environ["DJANGO_SETTINGS_MODULE"] = "x"`` (forced, "=")
_SETTINGS_MODULE = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*\]?\s*([,=])\s*["']([\w.]+)["']""")
_ROOT_URLCONF = re.compile(r"""^ROOT_URLCONF\s*=\s*["']([\w.]+)["']""", re.M)
#: storages whose {% static %} needs the manifest that collectstatic writes: pages fail without it
_MANIFEST = re.compile(r"ManifestStaticFilesStorage|ManifestFilesMixin")
_PROTECTED_VIEW = re.compile(r"login_required|permission_required|staff_member_required|user_passes_test|admin\.site")
#: paths that are not pages a user loads: error pages (/404), redirectors needing a target, logout
_NOT_A_PAGE = re.compile(r"^/(?:[1-5]\d\d(?:/|$)|.*\b(?:redirect|logout)\b)")
_REGEX_SPECIALS = re.compile(r"[\\()\[\]{}*+?|.^$]")
_MAX_DEPTH = 10


@dataclass
class DjangoProject:
    #: manage.py; the project's modules are imported from its folder
    manage: Path
    settings: str | None = None
    #: where the settings module was read: manage.py, a Dockerfile ENV, a dotenv file
    settings_where: str = ""
    #: the header, and its value, by which the TLS proxy in front of the app says a request
    #: came over HTTPS, when the settings redirect every other request to HTTPS
    #: (``SECURE_SSL_REDIRECT = True`` with ``SECURE_PROXY_SSL_HEADER``), and where
    proxy_header: tuple[str, str, str] | None = None
    #: pages need ``collectstatic`` first (a manifest static files storage)
    collectstatic: bool = False
    #: the collected files' manifest the repository already holds, when it does
    shipped_manifest: Path | None = None
    #: the URLconf's GET routes, joined through include(), "/" first; parameters left out
    routes: list[Route] = field(default_factory=list)
    #: the session cookie's name when Django keeps sessions on the server (its default: the
    #: database); None without SessionMiddleware or with signed-cookie sessions
    session_cookie: str | None = None

    @property
    def folder(self) -> Path:
        return self.manage.parent


def find_manage(files: Iterable[Path], preferred: Path) -> Path | None:
    """The project's manage.py: one that runs Django's commands, outside tests, in the app
    folder first, then the shallowest."""
    found = [
        path
        for path in files
        if path.name == "manage.py" and not {"tests", "test"} & set(path.parts) and is_djangos(path)
    ]
    found.sort(key=lambda path: (preferred not in path.parents, len(path.parts), path))
    return found[0] if found else None


def manage_settings(manage: Path) -> str | None:
    """The settings module manage.py sets (``os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)``)."""
    found = _SETTINGS_MODULE.search(read_text(manage))
    return found.group(2) if found else None


def is_djangos(manage: Path) -> bool:
    """A manage.py that runs Django's commands: other projects name their own CLI so
    (litestar-fullstack's ``manage.py`` runs Litestar's)."""
    return manage.is_file() and bool(re.search(r"execute_from_command_line|DJANGO_SETTINGS_MODULE", read_text(manage)))


def read_project(
    manage: Path,
    root: Path,
    deployed: dict[str, tuple[str, str]],
    examples: dict[str, tuple[str, str]],
) -> DjangoProject:
    project = DjangoProject(manage)
    found = _SETTINGS_MODULE.search(read_text(manage))
    in_manage = {"DJANGO_SETTINGS_MODULE": (found.group(2), manage.relative_to(root).as_posix())} if found else {}
    # manage.py's setdefault is the default where nothing sets it; a deployment that sets it wins
    order = (in_manage, deployed, examples) if found and found.group(1) == "=" else (deployed, in_manage, examples)
    for source in order:
        if "DJANGO_SETTINGS_MODULE" in source:
            project.settings, project.settings_where = source["DJANGO_SETTINGS_MODULE"]
            break
    if project.settings:
        chain = list(_settings_chain(project.folder, project.settings, set()))
        settings = _settings(chain)
        project.proxy_header = _proxy_header(settings, root)
        project.session_cookie = _session_cookie(settings, [path for path, _ in chain])
    settings_files = list(_module_files(project.folder, project.settings)) if project.settings else []
    text = "\n".join(read_text(path) for path in settings_files)
    project.shipped_manifest = _shipped_manifest(project.folder)
    project.collectstatic = bool(_MANIFEST.search(text)) and project.shipped_manifest is None
    urlconf = _ROOT_URLCONF.search(text)
    if urlconf:
        project.routes = _ordered(_routes(project.folder, urlconf.group(1), "/", set(), 0))
    return project


def _shipped_manifest(folder: Path) -> Path | None:
    """A ``staticfiles.json`` the repository already holds (babybuddy commits its collected
    ``static/``): the deploy ships it, and a ``collectstatic`` run without the sources its
    front-end build makes would overwrite it with a manifest that lacks them."""
    for pattern in ("staticfiles.json", "*/staticfiles.json", "*/*/staticfiles.json"):
        for path in sorted(folder.glob(pattern)):
            if not any(
                part.startswith(".") or part in ("node_modules", "venv") for part in path.relative_to(folder).parts
            ):
                return path
    return None


#: ``NAME = value`` at a settings module's top level: its file, the statement, the name, the value
_Setting = tuple[Path, ast.Assign, str, ast.expr]


def _proxy_header(settings: list[_Setting], root: Path) -> tuple[str, str, str] | None:
    """``SECURE_SSL_REDIRECT = True`` and ``SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO",
    "https")`` in the settings module or the modules it star-imports (``from .base import *``):
    the header as a client sends it (X-Forwarded-Proto), its value, and where it was read."""
    redirects, header = False, None
    for path, node, name, value in settings:
        if name == "SECURE_SSL_REDIRECT":
            redirects = isinstance(value, ast.Constant) and value.value is True
        elif name == "SECURE_PROXY_SSL_HEADER" and isinstance(value, (ast.Tuple, ast.List)):
            parts = [part.value if isinstance(part, ast.Constant) else None for part in value.elts]
            meta, wanted = parts if len(parts) == 2 else (None, None)
            if isinstance(meta, str) and isinstance(wanted, str) and meta.startswith("HTTP_"):
                client_name = "-".join(word.capitalize() for word in meta.removeprefix("HTTP_").split("_"))
                header = (client_name, wanted, f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return header if redirects else None


def _session_cookie(settings: list[_Setting], chain: list[Path]) -> str | None:
    """The session cookie's name, when the settings keep sessions on the server. A request that
    carries one makes Django look the session up in its store as soon as anything reads the
    user or the session (the auth middleware, a template's ``user``, DRF's authentication):
    with the default store, a query of the database. A ``connected`` probe of a page that reads
    no data of its own (a login form) still shows whether the app reaches its database."""
    engine, name = "django.contrib.sessions.backends.db", "sessionid"
    for _, _, setting, value in settings:
        literal = value.value if isinstance(value, ast.Constant) else None
        if setting == "SESSION_ENGINE" and isinstance(literal, str):
            engine = literal
        elif setting == "SESSION_COOKIE_NAME" and isinstance(literal, str):
            name = literal
    middleware = any("SessionMiddleware" in read_text(path) for path in chain)
    return name if middleware and not engine.endswith("signed_cookies") else None


def _settings(chain: list[tuple[Path, ast.Module]]) -> list[_Setting]:
    """Every top-level ``NAME = value`` of the settings chain, in the order Python runs them."""
    return [
        (path, node, node.targets[0].id, node.value)
        for path, tree in chain
        for node in tree.body
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
    ]


def _settings_chain(folder: Path, module: str, seen: set[str]) -> Iterator[tuple[Path, ast.Module]]:
    """A settings module's file and syntax tree after the modules it star-imports, in the order
    Python runs them."""
    if module in seen or len(seen) > _MAX_DEPTH:
        return
    seen.add(module)
    path = folder.joinpath(*module.split(".")).with_suffix(".py")
    tree = parse_python(path) if path.is_file() else None
    if tree is None:
        return
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            package = module.split(".")[: -node.level] if node.level else []
            yield from _settings_chain(folder, ".".join([*package, *(node.module or "").split(".")]).strip("."), seen)
    yield path, tree


def _module_files(folder: Path, module: str) -> Iterator[Path]:
    """A module's file, or a settings package's modules (settings/base.py, production.py...)."""
    path = folder.joinpath(*module.split("."))
    if path.with_suffix(".py").is_file():
        yield path.with_suffix(".py")
    elif path.is_dir():
        yield from sorted(path.glob("*.py"))
    if path.parent.joinpath("__init__.py").is_file() and path.parent.name == "settings":
        yield from sorted(p for p in path.parent.glob("*.py") if p != path.with_suffix(".py"))


def _routes(folder: Path, module: str, prefix: str, seen: set[str], depth: int) -> Iterator[Route]:
    if module in seen or depth > _MAX_DEPTH:
        return
    seen.add(module)
    path = next(iter(_module_files(folder, module)), None)
    if path is None:
        return  # an installed app's URLconf (django.contrib.admin.site.urls...): not the project's
    tree = parse_python(path)
    if tree is None:
        return
    conf = _URLconf(_module_names(tree), _imported_views(folder, module, tree))
    for node in _patterns(tree):
        yield from _pattern(folder, node, prefix, seen, depth, conf=conf)


@dataclass(frozen=True)
class _URLconf:
    #: what its module-level names are first bound to
    names: dict[str, ast.expr]
    #: the views modules it imports, by local name: their functions and classes
    views: dict[str, dict[str, _View]]


def _imported_views(folder: Path, module: str, tree: ast.Module) -> dict[str, dict[str, _View]]:
    """The views modules a URLconf imports (``from hc.front import views``, ``from . import
    views as v``), by local name, as the modules they stand for: ``views.index`` is then read
    in its own file."""
    package = module.rpartition(".")[0]
    found: dict[str, dict[str, _View]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".") if package else []
            parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
            base = ".".join([*parts, *([base] if base else [])])
        for alias in node.names:
            dotted = f"{base}.{alias.name}" if base else alias.name
            path = folder.joinpath(*dotted.split(".")).with_suffix(".py")
            if path.is_file():
                tree_of = parse_python(path)
                if tree_of is not None:
                    views = {f.name: f for f in tree_of.body if isinstance(f, (ast.FunctionDef, ast.ClassDef))}
                    found[alias.asname or alias.name] = views
    return found


#: a project's own decorators that want credentials (healthchecks' API: ``@authorize``, ``@authorize_read``)
_AUTH_DECORATOR = re.compile(r"authori[sz]e|authenticated|require_(auth|login|token|api_key)", re.I)
_ANONYMOUS_TEST = re.compile(r"\bis_authenticated\b|\bis_anonymous\b")
#: Django's mixins that send an anonymous user away (``class Dashboard(LoginRequiredMixin, View)``)
#: or a project's own (babybuddy's ``StaffOnlyMixin``)
_PROTECTED_MIXIN = re.compile(r"(Login|Permission|UserPassesTest|Staff|Superuser|Admin|Auth)\w*Mixin")
_View = ast.FunctionDef | ast.ClassDef


def _view_kind(target: ast.expr, views: dict[str, dict[str, _View]]) -> str | None:
    """What the view's own code says of a route: ``protected`` (``@login_required``, or a
    body that sends an anonymous user away: ``if not request.user.is_authenticated: return
    redirect(...)``, or a class view with ``LoginRequiredMixin``), ``post`` (``@require_POST``:
    no page to GET), else None."""
    if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute) and target.func.attr == "as_view":
        target = target.func.value  # views.Dashboard.as_view(): the class
    if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
        return None
    module = views.get(target.value.id, {})
    found = module.get(target.attr)
    if isinstance(found, ast.ClassDef):
        return "protected" if _protected_class(found, module, depth=0) else None
    return None if found is None else _function_kind(found, module, depth=0)


def _protected_class(view: ast.ClassDef, module: dict[str, _View], *, depth: int) -> bool:
    """An access mixin among its bases, ``@method_decorator(login_required, ...)`` on it, or a
    base class of its module that is protected so (``class BabyBuddyView(LoginRequiredMixin, ...)``)."""
    if any(_PROTECTED_VIEW.search(ast.unparse(decorator)) for decorator in view.decorator_list):
        return True
    for base in view.bases:
        if _PROTECTED_MIXIN.search(ast.unparse(base)):
            return True
        inner = module.get(base.id) if isinstance(base, ast.Name) else None
        if isinstance(inner, ast.ClassDef) and depth < 3 and _protected_class(inner, module, depth=depth + 1):
            return True
    return False


def _function_kind(function: ast.FunctionDef, functions: dict[str, _View], *, depth: int) -> str | None:
    for decorator in function.decorator_list:
        called = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = _name(called)
        if name == "require_http_methods" and isinstance(decorator, ast.Call) and "GET" not in ast.unparse(decorator):
            return "post"
        if name == "require_POST":
            return "post"
        if _PROTECTED_VIEW.search(ast.unparse(decorator)) or _AUTH_DECORATOR.search(name):
            return "protected"
    for node in function.body:
        if (
            isinstance(node, ast.If)
            and _ANONYMOUS_TEST.search(ast.unparse(node.test))
            and any(isinstance(inner, ast.Return) for inner in node.body)
        ):
            return "protected"
    if any(_reads_body(node) for node in function.body):
        return "post"  # it reads the request's body (healthchecks' bounces webhook): no page to GET
    # a view that hands each request to other views of its module (healthchecks' API ``checks``:
    # ``create_check`` for POST, else ``get_checks``) is what they are: protected if each is
    returned = [node.value for node in ast.walk(function) if isinstance(node, ast.Return) and node.value is not None]
    handed = [
        functions.get(value.func.id) if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) else None
        for value in returned
    ]
    if (
        depth < 3
        and handed
        and all(
            isinstance(inner, ast.FunctionDef) and _function_kind(inner, functions, depth=depth + 1) == "protected"
            for inner in handed
        )
    ):
        return "protected"
    return None


def _reads_body(statement: ast.stmt) -> bool:
    """A statement of the view's own body (not under an ``if``) that reads ``request.body``."""
    if isinstance(statement, (ast.If, ast.Try, ast.For, ast.While, ast.With)):
        return False
    return any(
        isinstance(node, ast.Attribute) and node.attr == "body" and _name(node.value) == "request"
        for node in ast.walk(statement)
    )


def _module_names(tree: ast.Module) -> dict[str, ast.expr]:
    """What a URLconf's module-level names are first bound to: a prefix (``prefix = ""``, which
    an ``if`` may change where the site is served under a path) or a list of patterns that
    ``include(check_urls)`` names."""
    names: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, node.value)
    return names


def _patterns(tree: ast.Module) -> Iterator[ast.expr]:
    """The elements of ``urlpatterns = [...]``, ``+= [...]``, ``.append(...)``, ``.extend([...])``."""
    for node in tree.body:
        value: ast.expr | None = None
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and any(map(_is_urlpatterns, targets)):
            value = node.value
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and _is_urlpatterns(func.value) and node.value.args:
                value = node.value.args[0]
                if func.attr == "append":
                    value = ast.List([value])
        yield from _elements(value)


def _is_urlpatterns(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Name) and node.id == "urlpatterns"


def _elements(value: ast.expr | None) -> Iterator[ast.expr]:
    if isinstance(value, (ast.List, ast.Tuple)):
        yield from value.elts
    elif isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
        yield from _elements(value.left)
        yield from _elements(value.right)


def _pattern(
    folder: Path, node: ast.expr, prefix: str, seen: set[str], depth: int, *, conf: _URLconf
) -> Iterator[Route]:
    if not (isinstance(node, ast.Call) and _name(node.func) in ("path", "re_path", "url") and len(node.args) >= 2):
        return
    route = _route_text(_resolved(node.args[0], conf.names), regex=_name(node.func) != "path")
    if route is None:
        return
    target, full = node.args[1], prefix + route
    if isinstance(target, ast.Attribute) and target.attr == "urls":
        return  # admin.site.urls, an API router's urls: another URLconf, with no page at its prefix
    if isinstance(target, ast.Call) and _name(target.func) == "include" and target.args:
        included = target.args[0]
        if isinstance(included, ast.Tuple) and included.elts:
            included = included.elts[0]
        if isinstance(included, ast.Constant) and isinstance(included.value, str):
            found = list(_routes(folder, included.value, full, seen, depth + 1))
        else:
            found = [
                found
                for inner in _elements(conf.names.get(included.id) if isinstance(included, ast.Name) else included)
                for found in _pattern(folder, inner, full, seen, depth + 1, conf=conf)
            ]
        # an installed app's URLconf at the root (a CMS's pages, wagtail_urls) serves the home page;
        # Django's own (django.contrib.auth.urls: /login/...) do not, nor a module of the project's
        # whose routes were read and are none of them a page (babybuddy's api.urls: a DRF router)
        named = str(included.value) if isinstance(included, ast.Constant) else None
        installed = named is None or (
            not named.startswith("django.contrib.") and next(iter(_module_files(folder, named)), None) is None
        )
        yield from found or ([Route("/", protected=False)] if full == "/" and installed else [])
        return
    kind = _view_kind(target, conf.views)
    if kind == "post":
        return  # @require_POST: a form's target, no page to load
    protected = bool(_PROTECTED_VIEW.search(ast.unparse(target))) or kind == "protected"
    yield Route(prefix + route, protected=protected)


def _resolved(node: ast.expr, names: dict[str, ast.expr]) -> ast.expr:
    """A route written with the module's names as text: ``prefix`` and ``f"{prefix}admin/"``
    with ``prefix = ""``; anything else as it is."""
    if isinstance(node, ast.Name) and isinstance(names.get(node.id), ast.Constant):
        return names[node.id]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for written in node.values:
            value = written
            if isinstance(value, ast.FormattedValue) and not value.format_spec and value.conversion == -1:
                value = _resolved(value.value, names)
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                return node
            parts.append(value.value)
        return ast.Constant("".join(parts))
    return node


def _route_text(node: ast.expr, *, regex: bool) -> str | None:
    """A route as a path: ``path()``'s as written; a regex route only when it is plain text."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return None
    text = node.value
    if not regex:
        return text
    text = text.removeprefix("^").removesuffix("$").replace("\\.", "\0").replace("\\-", "-")
    if _REGEX_SPECIALS.search(text):
        return None
    return text.replace("\0", ".")


def _ordered(routes: Iterable[Route]) -> list[Route]:
    """The home page first; pages a user cannot load as a plain GET are left out."""
    kept = [route for route in routes if not _NOT_A_PAGE.search(route.path)]
    return sorted(dict.fromkeys(kept), key=lambda route: route.path != "/")


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
