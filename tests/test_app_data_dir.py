"""``{{ app.data_dir }}``: a folder of the run's own for what the deployment keeps on a volume.
mealie keeps its data in ``/app/data`` (the image's ``VOLUME``) unless ``DATA_DIR`` says
otherwise: run by golive on a host, it made ``/app/data`` there, kept its secret, logs and
uploads in it, and the next run reused them. Real processes; no mocks."""

from __future__ import annotations

from pathlib import Path

from test_app import run


def test_the_apps_data_folder_is_the_runs_own_and_goes_with_it(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    runs = tmp_path / "runs"
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        "app:\n  cwd: site\n  env: {DATA_DIR: '{{ app.data_dir }}'}\n"
        '  setup:\n    - [sh, -c, \'test -d "$DATA_DIR" && test -z "$(ls -A "$DATA_DIR")" && touch "$DATA_DIR/.secret"'
        ' && echo "$DATA_DIR" > where.txt\']\n'
        "  command: [python3, -m, http.server, '{{ app.port }}']\n"
        "checks:\n"
        "  - id: before-the-app\n    command: {run: [test, -d, '{{ app.data_dir }}']}\n"
        "  - id: page\n    http: {get: /where.txt}\n    expect: {status: 200}\n"
        # what renders app.env without the app (a migrations walk) sees the app's folder
        "  - id: shared\n    command: {run: [test, -f, '{{ app.data_dir }}/.secret']}\n"
    )
    result = run(tmp_path, env={"GOLIVE_RUNS_DIR": str(runs)})
    assert result.returncode == 0, result.stdout[-2000:]
    assert "3 passed" in result.stdout
    used = Path((tmp_path / "site" / "where.txt").read_text().strip())
    assert runs in used.parents  # the run's, not a folder of the host's
    assert not used.exists()  # removed with the run
