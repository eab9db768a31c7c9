"""What golive passes the app: each variable it reads, pointed at what the run provisions.

Database and Redis names (whole URLs, or their parts such as ``POSTGRES_SERVER`` or
``REDIS_PORT``) point at the services; debug and reloader switches are turned off; the
variables the app cannot start without get a test value when the repository's dotenv files
show one (a generated one for secrets), and are otherwise taken from the environment and
named by an ``env`` check."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from .environment import EnvRead

DB, CACHE = "db", "cache"
_DB_URL = re.compile(r"^(?:\w+_)?(DATABASE|DB|POSTGRES(?:QL)?|PG)_?(URL|URI|DSN)$")
#: names of other stores, which golive does not provision
_OTHER_STORE = re.compile(r"MONGO|MYSQL|MARIA|SQLITE|ELASTIC|INFLUX|CLICKHOUSE|CASSANDRA|NEO4J|COUCH|DYNAMO|MEMCACHE")
_REDIS_URL = re.compile(r"^(?:\w+_)?(REDIS|CACHE|VALKEY)(?:_\w+)?_(URL|URI|DSN|LOCATION)$|^(?:\w+_)?REDIS$")
_DB_PART = re.compile(
    r"^(?:\w+?_)?(?:POSTGRES(?:QL)?|PG|DB|DATABASE)_?"
    r"(HOST|HOSTNAME|SERVER|ADDR|PORT|USER|USERNAME|PASSWORD|PASS|PWD|DB|NAME|DATABASE|DBNAME)$"
)
#: a switch that turns a service on (``REDIS_ENABLED``, ``USE_REDIS``): off by default in apps that
#: can run without it, so the app uses what golive provisions only when it is on
_SWITCH = re.compile(
    r"^(?:ENABLE|USE|WITH)_(?:\w+_)?(?P<before>REDIS|CACHE|VALKEY|POSTGRES(?:QL)?|PG|DB|DATABASE)$"
    r"|^(?:\w+_)?(?P<after>REDIS|CACHE|VALKEY|POSTGRES(?:QL)?|PG|DB|DATABASE)_(?:ENABLED|ENABLE|ON)$"
)
_SWITCH_ON = {"false": "true", "False": "True", "FALSE": "TRUE", "0": "1", "no": "yes", "off": "on"}
_REDIS_PART = re.compile(r"^(?:\w+?_)?(?:REDIS|CACHE)_(HOST|HOSTNAME|SERVER|PORT|PASSWORD|PASS|DB|DATABASE)$")
_PART = {
    "HOST": "host",
    "HOSTNAME": "host",
    "SERVER": "host",
    "ADDR": "host",
    "PORT": "port",
    "USER": "user",
    "USERNAME": "user",
    "PASSWORD": "password",
    "PASS": "password",
    "PWD": "password",
    "DB": "database",
    "NAME": "database",
    "DATABASE": "database",
    "DBNAME": "database",
}
#: the app's own public address (its domain, host or base URL), when its default is a local web address
_SELF_ADDRESS = re.compile(r"(DOMAIN|HOST|HOSTNAME|URL|URI|ORIGIN|ADDRESS|ROOT)$")  # healthchecks' SITE_ROOT
_LOCAL_WEB = re.compile(
    r"^(?P<scheme>https?://)?(localhost|127\.0\.0\.1|0\.0\.0\.0):(80|3000|5000|8000|8001|8080|8888)(?P<path>/.*)?$"
)
#: which database the app uses (pretalx's PRETALX_DB_TYPE, DB_ENGINE), from the values it knows
#: (an Enum, a Literal), or in the form of its default (SQLite by default) for an engine's name
_DB_ENGINE = re.compile(r"^(?:\w+_)?(?:DB|DATABASE)_?(?:TYPE|ENGINE|BACKEND|VENDOR)$")
_DB_CHOICE = re.compile(r"^(?:\w+_)?(?:DATABASE|DB)_?(?:TYPE|ENGINE|BACKEND|DRIVER|CLIENT|VENDOR|DIALECT|KIND)$")
_DEBUG = re.compile(r"^(?:\w+_)?(DEBUG|RELOAD|AUTORELOAD|USE_RELOADER)$")
_HTTPS_ONLY = re.compile(r"^(?:\w+_)?(SSL_REDIRECT|FORCE_HTTPS|HTTPS_ONLY|SECURE_SSL_REDIRECT)$")
_FALSY = {"0", "false", "False", "FALSE", "off", "no", "n", "f"}
_SECRET = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIAL|SALT|_KEY$")
#: a key that only signs what the app itself checks (sessions, cookies, tokens): any value will do
_SIGNING_SECRET = re.compile(r"^((FLASK|DJANGO|APP|SESSION|COOKIE|JWT|AUTH)_)?(SECRET(_KEY)?(_BASE)?|SIGNING_KEY)$")
_PLACEHOLDER = re.compile(r"^(changeme|changethis|change[-_ ]?me|secret|password|xxx+|todo|<.*>|\$\{.*\})$", re.I)


@dataclass(frozen=True)
class Wire:
    """One variable of ``app.env``: its value (a template or a literal) and why."""

    name: str
    value: str
    why: str


def service_part(name: str) -> tuple[str, str] | None:
    """(service, attribute) a variable's name stands for: ``POSTGRES_SERVER`` -> (db, host);
    a nested settings group's ``DATABASE__HOSTNAME`` -> (db, host)."""
    upper = re.sub(r"_{2,}", "_", name.upper())
    if _OTHER_STORE.search(upper) or _SWITCH.match(upper):
        return None
    if _DB_URL.match(upper):
        return DB, "url"
    if _REDIS_URL.match(upper):
        return CACHE, "url"
    part = _REDIS_PART.match(upper)
    if part:
        attribute = _PART[part.group(1)]
        return CACHE, "db" if attribute == "database" else attribute
    part = _DB_PART.match(upper)
    if part:
        return DB, _PART[part.group(1)]
    return None


def service_by_value(value: str | None) -> str | None:
    """A default or example value that is a connection URL says which service a name is for."""
    if value is None:
        return None
    if re.match(r"^postgres(ql)?(\+\w+)?://", value):
        return DB
    if re.match(r"^rediss?://", value):
        return CACHE
    return None


def switched_service(name: str) -> str | None:
    """The service a switch such as ``REDIS_ENABLED`` turns on."""
    match = _SWITCH.match(name.upper())
    if match is None:
        return None
    return CACHE if (match.group("before") or match.group("after")) in ("REDIS", "CACHE", "VALKEY") else DB


def switch_on(read: EnvRead | None) -> str:
    """The value that turns a switch on, in the spelling of its default (``False`` -> ``True``)."""
    return _SWITCH_ON.get((read.default if read else None) or "", "true")


def template(service: str, attribute: str) -> str:
    if attribute in ("port", "db"):  # numbers: the OS wants strings in an environment
        return f"{{{{ services.{service}.{attribute}|string }}}}"
    return f"{{{{ services.{service}.{attribute} }}}}"


#: a Postgres URL in Heroku's form (``postgres://``), for code that tests for that scheme
_HEROKU_SCHEME = "{{{{ services.{service}.url|replace('postgresql://', 'postgres://', 1) }}}}"


def is_debug_switch(name: str) -> bool:
    return bool(_DEBUG.match(name.upper())) or name.upper() in ("FLASK_ENV", "DJANGO_ENV")


def debug_off(name: str, read: EnvRead | None) -> str:
    """The value that turns a debug or reloader switch off, in the form the code compares it with."""
    if name.upper().endswith("_ENV"):
        return "production"
    if read is not None and read.default in _FALSY:
        return read.default  # os.getenv("DEBUG", "False") == "True": keep its own spelling
    return "0"


def engine(default: str) -> str:
    """PostgreSQL in the form the default names an engine: a Django backend's module path, or its name."""
    return "django.db.backends.postgresql" if default.startswith("django.db.backends.") else "postgresql"


def is_secret(name: str) -> bool:
    return bool(_SECRET.search(name.upper()))


def test_value(name: str, example: str) -> str:
    """A safe value for the run from what the repository's dotenv files show: secrets and
    placeholders are generated, anything else (a project name, an admin email) is kept."""
    if is_secret(name) or _PLACEHOLDER.match(example.strip()):
        return "golive-" + secrets.token_urlsafe(18)
    return example


def wire(
    reads: dict[str, EnvRead],
    examples: dict[str, tuple[str, str]],
    services: set[str],
    framework: str | None,
    *,
    deployed: dict[str, tuple[str, str]] | None = None,
    postgres_scheme: set[str] | frozenset[str] = frozenset(),
    postgres_switches: dict[str, str] | None = None,
    data_volumes: dict[str, str] | None = None,
    taken: dict[str, str] | None = None,
) -> tuple[list[Wire], list[str]]:
    """``app.env`` for the reads (and the names the dotenv files set), and the required
    names golive cannot give a value: those go in an ``env`` check. ``deployed`` are values
    the deployment sets (Dockerfile ENV), passed on for the names the app reads;
    ``postgres_scheme`` the names whose URL the code tests for Heroku's ``postgres://``;
    ``postgres_switches`` what it compares with a name of Postgres, and that name (``DB``
    read with ``"postgres"``, or a settings field ``DB_ENGINE``, which a prefix may precede);
    ``data_volumes`` the names that hold the folder the deployment keeps on a volume (served by
    ``{{ app.data_dir }}``, a folder of the run's own); ``taken`` the names the deployment's
    entry point takes from the environment (``SECRET_KEY=${SECRET_KEY:-}``), and where: the
    server it execs reads them, also when its code names them by a computed name."""
    deployed = deployed or {}
    data_volumes = data_volumes or {}
    taken = taken or {}
    wires: dict[str, Wire] = {}
    unresolved: list[str] = []
    for name in dict.fromkeys([*reads, *examples, *(n for n in taken if _SIGNING_SECRET.match(n.upper()))]):
        read = reads.get(name)
        example = examples.get(name)
        where = read.where if read else example[1] if example else ""
        target = service_part(name)
        by_value = service_by_value(read.default if read else None) or service_by_value(example[0] if example else None)
        if target is None and by_value:
            target = (by_value, "url")
        if target is not None and target[0] in services:
            wires[name] = _service_wire(name, target, f"{_how(read, example)} {where}", name in postgres_scheme)
        elif read is not None and DB in services and (spelling := _switch(name, read, postgres_switches)):
            how = f"Postgres, which golive provisions: the code compares it with {spelling!r} ({where})"
            wires[name] = Wire(name, spelling, how)
        elif read is not None and switched_service(name) in services:
            wires[name] = Wire(
                name, switch_on(read), f"turns on {switched_service(name)}, which golive provisions ({where})"
            )
        elif read is not None and _SELF_ADDRESS.search(name.upper()) and _own_address(read, example):
            value = _own_address(read, example) or ""
            wires[name] = Wire(name, value, f"the app's own address, where golive serves it ({where})")
        elif read is not None and DB in services and _DB_CHOICE.match(name.upper()) and _postgres_choice(read):
            how = f"Postgres, which golive provisions, of {', '.join(read.choices)} ({where})"
            wires[name] = Wire(name, _postgres_choice(read) or "", how)
        elif read is not None and DB in services and not read.choices and _DB_ENGINE.match(name.upper()):
            value = engine(read.default or (example[0] if example else ""))
            wires[name] = Wire(name, value, f"the database engine: golive provisions PostgreSQL ({where})")
        elif is_debug_switch(name) and (read or (example and example[0] not in _FALSY)):
            wires[name] = Wire(name, debug_off(name, read), f"debug/reloader off ({where})")
        elif read is not None and _HTTPS_ONLY.match(name.upper()):
            value = "False" if (read.default or "").lower() == "true" else "0"
            wires[name] = Wire(name, value, f"golive serves plain HTTP on 127.0.0.1 ({where})")
        elif name in data_volumes:
            wires[name] = _data_dir(name, data_volumes[name], where)
        elif read is not None and name in deployed and not is_secret(name) and deployed[name][0]:
            wires[name] = _deployed(name, *deployed[name], where)
        elif name in taken and _SIGNING_SECRET.match(name.upper()) and not (example and example[0]):
            # any value signs; without one the app may make its own and keep it in a file of its
            # folder (CTFd's .ctfd_secret_key), which outlives the run and is read by the next
            how = f"a signing key the deployment's entry point takes from the environment ({taken[name]}); generated"
            wires[name] = Wire(name, test_value(name, ""), how)
        elif read is not None and read.required:
            wires[name] = _required(name, read, example)
            if wires[name].value == f"{{{{ env.{name} }}}}":
                unresolved.append(name)
        elif read is not None and example and is_secret(name) and _PLACEHOLDER.match(example[0].strip()):
            wires[name] = Wire(name, test_value(name, example[0]), f"{example[1]} holds a placeholder; generated")
    if framework == "Flask" and "FLASK_DEBUG" not in wires:
        wires["FLASK_DEBUG"] = Wire("FLASK_DEBUG", "0", "debug and reloader off (flask reads it)")
    return list(wires.values()), unresolved


def _service_wire(name: str, target: tuple[str, str], why: str, heroku_scheme: bool) -> Wire:
    """The variable points at a part of a provisioned service (its URL, host, port ...)."""
    service, attribute = target
    if (service, attribute) == (DB, "url") and heroku_scheme:
        return Wire(
            name,
            _HEROKU_SCHEME.format(service=service),
            why + "; in Heroku's postgres:// form, which the code tests for",
        )
    return Wire(name, template(service, attribute), why)


def _data_dir(name: str, volume: str, where: str) -> Wire:
    """A folder the deployment keeps on a volume: here, the run's own."""
    read_in = f" ({where})" if where not in volume else ""
    return Wire(name, "{{ app.data_dir }}", f"{volume}: a folder of the run's own{read_in}")


#: a folder or file of the image's filesystem (``/srv/app/uploads``), not a URL path: the host's
#: is not the app's to write to (mealie: its code made /app/data on the host, as root)
_IMAGE_PATH = re.compile(r"^/[^:\s]*$")
_LOCATION_NAME = re.compile(r"(DIR|PATH|ROOT|HOME|FILE|FILES|FOLDER|LOCATION|STORAGE|MEDIA|UPLOADS?|DATA|LOGS?)$")


def _deployed(name: str, value: str, origin: str, where: str) -> Wire:
    """The deployment's value; a folder of the image's filesystem under the run's own folder."""
    if _IMAGE_PATH.match(value) and _LOCATION_NAME.search(name.upper()):
        why = f"{value} in the image ({origin}): here, under a folder of the run's own, read in {where}"
        return Wire(name, "{{ app.data_dir }}" + value, why)
    return Wire(name, value, f"as deployed ({origin}), read in {where}")


def _required(name: str, read: EnvRead, example: tuple[str, str] | None) -> Wire:
    """A value for a variable the app cannot start without: the example's (a secret or a
    placeholder generated), else the operator's, from the environment of the run."""
    if example and example[0]:
        value = test_value(name, example[0])
        kind = "generated" if value != example[0] else f"from {example[1]}"
        return Wire(name, value, f"required by {read.where}; test value {kind}")
    if example is not None and is_secret(name):  # a slot left empty to fill in: any secret will do
        return Wire(name, test_value(name, ""), f"required by {read.where}; {example[1]} leaves it empty; generated")
    return Wire(name, f"{{{{ env.{name} }}}}", f"required by {read.where}")


def _switch(name: str, read: EnvRead, switches: dict[str, str] | None) -> str | None:
    """The Postgres spelling the code compares this variable with: by its name, or by its
    settings field's name (``LEDGER_DB_ENGINE`` is the field ``DB_ENGINE``)."""
    switches = switches or {}
    if name in switches:
        return switches[name]
    if read.how.endswith(" field"):
        return next((spelling for field, spelling in switches.items() if name.endswith("_" + field)), None)
    return None


def _own_address(read: EnvRead, example: tuple[str, str] | None) -> str | None:
    """A default (or example) such as ``localhost:8000`` or ``http://localhost:8000/api`` is
    the app's own address in development: where golive serves it, in the same form."""
    match = _LOCAL_WEB.match(read.default or (example[0] if example else ""))
    if match is None:
        return None
    if match.group("scheme"):
        return "{{ app.base_url }}" + (match.group("path") or "")
    return "127.0.0.1:{{ app.port }}" + (match.group("path") or "")


def _postgres_choice(read: EnvRead) -> str | None:
    """Postgres among the values a setting allows: ``POSTGRESQL``, or knex's client name ``pg``."""
    return next((choice for choice in read.choices if re.match(r"(?i)postgres|pg$", choice)), None)


def _how(read: EnvRead | None, example: tuple[str, str] | None) -> str:
    if read is not None:
        return f"{read.how} in"
    return "set by" if example else "read in"
