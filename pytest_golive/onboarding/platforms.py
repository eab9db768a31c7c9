"""The environment a hosting platform's manifest gives the app: DigitalOcean App Platform
(``.do/*.yaml``), Heroku (``app.json``), Render (``render.yaml``) and Fly.io (``fly.toml``)
describe a deployment as the Dockerfile's ``ENV`` does; a dev container
(``.devcontainer.json``) describes a developer's machine.

babybuddy sets ``DJANGO_SETTINGS_MODULE`` nowhere but in ``.do/deploy.template.yaml`` and its
dev container: without it, Django's ``manage.py migrate`` cannot start. A value the platform
fills in (``${db.DATABASE_URL}``, Render's ``fromDatabase``, Heroku's ``generator``) is not
passed on: golive's own services take its place."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .sources import read_mapping, read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover  (Python 3.10)
    import tomli as tomllib


def deployed_values(root: Path) -> Iterator[tuple[str, str, str]]:
    """(name, value, where) of each literal value a deployment manifest under ``root`` sets."""
    for path in sorted((root / ".do").glob("*.y*ml")):
        data = read_mapping(path)
        wrapped = data.get("spec")  # a "Deploy to DigitalOcean" template wraps the app spec
        spec: dict[str, Any] = wrapped if isinstance(wrapped, dict) else data
        for owner in [spec, *_list(spec, "services", "workers", "jobs")]:  # app-wide envs, then each component's
            for entry in _entries(owner.get("envs")):
                if entry.get("scope") != "BUILD_TIME":
                    yield from _literal(entry.get("key"), entry.get("value"), _where(root, path))
    app_json = root / "app.json"
    env = read_mapping(app_json).get("env")
    for name, entry in env.items() if isinstance(env, dict) else ():
        value = entry.get("value") if isinstance(entry, dict) else entry
        yield from _literal(name, value, _where(root, app_json))
    render = root / "render.yaml"
    for service in _list(read_mapping(render), "services"):
        for entry in _entries(service.get("envVars")):
            yield from _literal(entry.get("key"), entry.get("value"), _where(root, render))
    fly = root / "fly.toml"
    try:
        fly_env = tomllib.loads(read_text(fly)).get("env") if fly.is_file() else None
    except tomllib.TOMLDecodeError:
        fly_env = None
    for name, value in fly_env.items() if isinstance(fly_env, dict) else ():
        yield from _literal(name, value, _where(root, fly))


def development_values(root: Path) -> Iterator[tuple[str, str, str]]:
    """(name, value, where) of what a dev container sets: a developer's settings, the last resort."""
    for path in (root / ".devcontainer.json", root / ".devcontainer" / "devcontainer.json"):
        data = read_mapping(path)
        for key in ("containerEnv", "remoteEnv"):
            values = data.get(key)
            for name, value in values.items() if isinstance(values, dict) else ():
                yield from _literal(name, value, _where(root, path))


def _literal(name: object, value: object, where: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(name, str) and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value)
        if text and "${" not in text:
            yield name, text, where


def _list(data: dict[str, Any], *keys: str) -> Iterator[dict[str, Any]]:
    for key in keys:
        items = data.get(key)
        yield from (item for item in items if isinstance(item, dict)) if isinstance(items, list) else ()


def _entries(items: object) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _where(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()
