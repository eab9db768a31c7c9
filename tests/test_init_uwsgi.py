"""``golive init`` on apps deployed with uWSGI, read from their ``uwsgi.ini`` (static only).
healthchecks' ``docker/uwsgi.ini`` (fixtures/projects/django-site-root mimics it) attaches its
alert sender and report mailer as daemons and migrates in ``hook-pre-app``: init started the
app without them, so no alert was ever sent in a run. fixtures/projects/flask-uwsgi serves a
Flask app made by a factory of its own name through ``wsgi-file``: init found no start
command at all."""

from __future__ import annotations

from pathlib import Path

from test_onboarding import written

from pytest_golive.onboarding import deploy, uwsgi

PY = "{{ app.python }}"


def test_uwsgi_daemons_running_python_are_workers(tmp_path: Path) -> None:
    """``attach-daemon = ./manage.py sendalerts`` (run by its shebang) and ``python manage.py
    sendreports --loop``; one under ``if-env`` runs only when the deployment sets it up so."""
    checklist, facts = written("django-site-root", tmp_path)
    assert checklist["app"]["workers"] == [
        [PY, "manage.py", "sendalerts"],
        [PY, "manage.py", "sendreports", "--loop"],
    ]
    assert "worker python manage.py sendalerts docker/uwsgi.ini:11" in facts
    assert "smtpd --port $(SMTPD_PORT): run only when a uWSGI condition holds, so it is not started" in facts


def test_the_uwsgi_pre_app_hook_is_a_deploy_step(tmp_path: Path) -> None:
    checklist, facts = written("django-site-root", tmp_path)
    # the image's build step first (docker/Dockerfile, which the compose file builds), then uWSGI's hook
    assert [step[:3] for step in checklist["app"]["setup"]] == [
        [PY, "manage.py", "collectstatic"],
        [PY, "manage.py", "migrate"],
    ]
    assert (
        "deploy steps python manage.py collectstatic --noinput; python manage.py migrate docker/Dockerfile:5, docker/uwsgi.ini:10"
        in facts
    )


def test_a_uwsgi_wsgi_file_gives_the_start_command(tmp_path: Path) -> None:
    """``wsgi-file = /srv/portal/deploy/wsgi.py`` under ``chdir = /srv/portal`` is the app's
    ``deploy/wsgi.py``; without gunicorn, Flask's own server serves its ``application``."""
    checklist, facts = written("flask-uwsgi", tmp_path)
    assert checklist["app"]["command"] == [
        PY,
        *["-m", "flask", "--app", "deploy.wsgi:application", "run", "--host", "127.0.0.1", "--port", "{{ app.port }}"],
    ]
    assert "wsgi-file = /srv/portal/deploy/wsgi.py, served by uWSGI" in facts
    assert checklist["app"]["setup"] == [[PY, "-m", "portal.prepare"]]


def test_only_python_daemons_of_the_uwsgi_section_become_workers(tmp_path: Path) -> None:
    """A smart daemon's pidfile is uWSGI's, not the command's; memcached is no program of the
    app; a daemon that needs uWSGI's ``$(MAILER_PORT)`` or lies in another section is not run."""
    checklist, facts = written("flask-uwsgi", tmp_path)
    assert checklist["app"]["workers"] == [[PY, "-m", "celery", "-A", "portal.tasks", "worker"]]
    assert "uWSGI fills in its $(...), so it is not started" in facts
    assert "memcached" not in facts
    assert "devtools" not in facts


def test_with_gunicorn_the_uwsgi_module_is_served_by_gunicorn(tmp_path: Path) -> None:
    def with_gunicorn(repo: Path) -> None:
        (repo / "requirements.txt").write_text("Flask>=3.0\ngunicorn>=22\n")
        ini = repo / "deploy" / "uwsgi.ini"
        ini.write_text(ini.read_text().replace("wsgi-file = /srv/portal/deploy/wsgi.py", "module = deploy.wsgi"))

    checklist, _ = written("flask-uwsgi", tmp_path, with_gunicorn)
    assert checklist["app"]["command"] == [
        *[PY, "-m", "gunicorn", "--bind", "127.0.0.1:{{ app.port }}", "deploy.wsgi:application"]
    ]


def test_a_procfile_worker_run_by_the_manage_py_shebang_is_a_worker() -> None:
    assert deploy.worker_command("./manage.py rqworker default", named=True) == [PY, "manage.py", "rqworker", "default"]


def test_uwsgi_options_keep_repeated_keys_and_their_lines() -> None:
    text = "[app]\nmodule = other\n[uwsgi]\nmaster\nattach-daemon = a\n; a comment\nattach-daemon = b\n"
    found = uwsgi.options(text)
    assert [(o.key, o.value, o.line) for o in found] == [
        ("master", "true", 4),
        ("attach-daemon", "a", 5),
        ("attach-daemon", "b", 7),
    ]
