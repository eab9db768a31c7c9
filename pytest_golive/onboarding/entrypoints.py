"""Console scripts that start the app's server, read from their code (nothing is run).

A packaged app is started the way its documentation says: ``fittrackee``, ``fief
run-server``. Its console script names a function (``pkg.__main__:main``) or a command-line
group (a Typer app, a click group) whose commands are functions. A function serves when
it calls a server (``uvicorn.run``, ``waitress.serve``, ``run_simple``, a gunicorn
``BaseApplication(...).run()``, ``app.run()``). golive then needs to give it the port: an
option of the command (``--port``, and ``--host`` to bind 127.0.0.1) or the ``PORT``
variable the script reads. A script whose port golive cannot set is not used."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .deploy import PORT, PYTHON
from .environment import reads_in_module
from .packaging import ConsoleScript
from .sources import parse_python

#: modules whose functions start a server, and those functions
_SERVER_MODULES = ("uvicorn", "gunicorn", "waitress", "hypercorn", "werkzeug", "aiohttp", "daphne", "granian")
_SERVING_CALLS = frozenset({"run", "serve", "run_simple", "run_app", "serve_forever"})
#: constructors of command-line groups whose ``.command`` decorator adds a subcommand
_GROUPS = frozenset({"Typer", "Group", "group"})
_APP_FACTORIES = frozenset({"Flask", "FastAPI", "Quart", "create_app", "make_app"})


@dataclass(frozen=True)
class ServingScript:
    """How golive starts the app through a console script."""

    argv: list[str]
    #: the command as a user types it, for the report
    shown: str
    where: str


def serving_script(scripts: Iterable[ConsoleScript], module_file: Callable[[str], Path | None]) -> ServingScript | None:
    """The first console script that starts a server golive can point at its port."""
    for script in scripts:
        path = module_file(script.module)
        tree = parse_python(path) if path is not None else None
        if tree is None:
            continue
        found = _Module(tree).serving(script)
        if found is not None:
            return found
    return None


class _Module:
    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        self.servers: set[str] = set()  # local names of server modules
        self.server_functions: set[str] = set()  # names imported from them: run_simple, serve
        self.calls: dict[str, str] = {}  # variable -> the name of the callable it was assigned from
        self.reads_port = any(read.name == "PORT" for read in reads_in_module(tree, ""))
        self.text = ast.unparse(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in _SERVER_MODULES:
                        self.servers.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _SERVER_MODULES:
                for alias in node.names:
                    self.servers.add(alias.asname or alias.name)
                    self.server_functions.add(alias.asname or alias.name)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.calls[target.id] = _name(node.value.func)
        self.server_classes = {
            node.name
            for node in tree.body
            if isinstance(node, ast.ClassDef) and any(_root(base) in self.servers for base in node.bases)
        }

    def serving(self, script: ConsoleScript) -> ServingScript | None:
        attribute = script.attribute.split(".")[0]
        if attribute in self.functions and self._serves(self.functions[attribute]):
            return self._command(script, self.functions[attribute], [])
        for command, name in self._commands(attribute):
            if self._serves(command):
                return self._command(script, command, [name] if name else [])
        return None

    def _commands(self, group: str) -> list[tuple[ast.FunctionDef, str | None]]:
        """The subcommands of a Typer app or click group named ``group``, with the word that
        selects each (none for a Typer app of one command, which runs it directly)."""
        is_group = self.calls.get(group) in _GROUPS or (
            group in self.functions and any(_name(_called(d)) == "group" for d in self.functions[group].decorator_list)
        )
        if not is_group:
            return []
        found: list[tuple[ast.FunctionDef, str | None]] = []
        for function in self.functions.values():
            for decorator in function.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                target = call.func if call else decorator
                if isinstance(target, ast.Attribute) and target.attr == "command" and _name(target.value) == group:
                    given = _string(call.args[0]) if call and call.args else None
                    keyword = next((k.value for k in call.keywords if k.arg == "name"), None) if call else None
                    found.append((function, given or _string(keyword) or function.name.replace("_", "-")))
        if len(found) == 1 and self.calls.get(group) == "Typer":
            return [(found[0][0], None)]
        return found

    def _serves(self, function: ast.FunctionDef) -> bool:
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in self.server_functions:
                return True
            if not (isinstance(func, ast.Attribute) and func.attr in _SERVING_CALLS):
                continue
            receiver = func.value
            if _root(receiver) in self.servers:
                return True  # uvicorn.run(...), waitress.serve(...), web.run_app(...)
            if isinstance(receiver, ast.Call) and _name(receiver.func) in self.server_classes:
                return True  # a gunicorn BaseApplication subclass: StandaloneApplication(app, options).run()
            if isinstance(receiver, ast.Name) and self.calls.get(receiver.id) in _APP_FACTORIES:
                return True  # app.run() of an app made in this module
        return False

    def _command(self, script: ConsoleScript, function: ast.FunctionDef, words: list[str]) -> ServingScript | None:
        options = _options(function, self.text)
        if "--port" in options:
            words = [*words, *(["--host", "127.0.0.1"] if "--host" in options else []), "--port", PORT]
        elif not self.reads_port:
            return None  # the port it binds cannot be set: not a start command golive can use
        attribute = script.attribute.split(".")[0]
        if self._main_calls(script.attribute):
            argv = [PYTHON, "-m", script.module, *words]
        else:
            code = f"import sys; from {script.module} import {attribute}; sys.exit({script.attribute}())"
            argv = [PYTHON, "-c", code, *words]
        shown = " ".join([script.name, *words]).replace(PORT, "$PORT")
        return ServingScript(argv, shown, script.where)

    def _main_calls(self, attribute: str) -> bool:
        """``if __name__ == "__main__": attribute()`` at the end of the module: ``python -m`` runs the script."""
        for node in self.tree.body:
            if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
                for statement in node.body:
                    call = statement.value if isinstance(statement, ast.Expr) else None
                    if isinstance(call, ast.Call) and ast.unparse(call.func) == attribute and not call.args:
                        return True
        return False


def _options(function: ast.FunctionDef, module_text: str) -> set[str]:
    """The ``--host``/``--port`` options a command takes: its parameters (Typer, also as
    ``typer.Option(8000, "--port")``), its ``@click.option`` decorators, or the module's
    argparse arguments."""
    found: set[str] = set()
    for name, default in _parameters(function).items():
        if name in ("host", "port"):
            declared = [text for text in map(_string, getattr(default, "args", [])) if text and text.startswith("--")]
            found.add(declared[0] if declared else f"--{name}")
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and _name(decorator.func) in ("option", "argument"):
            found.update(text for text in map(_string, decorator.args) if text in ("--host", "--port"))
    for option in ("--host", "--port"):
        if f"add_argument('{option}'" in module_text:  # ast.unparse writes strings with single quotes
            found.add(option)
    return found


def _parameters(function: ast.FunctionDef) -> dict[str, ast.expr | None]:
    """A function's parameters and their defaults (None: no default)."""
    arguments = function.args
    positional = arguments.posonlyargs + arguments.args
    found: dict[str, ast.expr | None] = {argument.arg: None for argument in positional + arguments.kwonlyargs}
    with_defaults = positional[len(positional) - len(arguments.defaults) :]
    found.update(zip([a.arg for a in with_defaults], arguments.defaults, strict=True))
    found.update({a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d is not None})
    return found


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _root(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _called(node: ast.expr) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
