"""JUnit properties that the golive plugin writes and the gate reads (kept light: every
pytest run imports this module)."""

from __future__ import annotations

#: how many failed attempts pytest-rerunfailures made before the reported outcome
RERUNS_PROPERTY = "golive.reruns"
#: the needs (``needs:``) that kept a check from running, and how each did not pass
NEEDS_UNMET_PROPERTY = "golive.needs_unmet"

#: where a result comes from (evidence provenance): the commit the run tested, the file that
#: declares the check and the sha256 of its bytes, and the run's id and start time (UTC, ISO 8601)
COMMIT_PROPERTY = "golive.commit"
CHECKLIST_PATH_PROPERTY = "golive.checklist_path"
CHECKLIST_SHA_PROPERTY = "golive.checklist_sha256"
RUN_ID_PROPERTY = "golive.run_id"
RUN_AT_PROPERTY = "golive.run_at"
#: written beside golive.reruns on a result that passed only after reruns
FLAKY_PROPERTY = "golive.flaky"

#: repeated evaluation (a ``watch`` window's rounds, a ``retry``'s attempts), as Argo Rollouts'
#: analysis counts it: how many failed, how many passed in a row at the end, and the retry's
#: own failure_limit; ``gates.failure_limit`` reads golive.failures (and golive.stepN.failures)
FAILURES_PROPERTY = "golive.failures"
CONSECUTIVE_SUCCESSES_PROPERTY = "golive.consecutive_successes"
FAILURE_LIMIT_PROPERTY = "golive.failure_limit"

#: a SQLite database that was in the app's folder before the run and that the run wrote
#: (services/sqlite_files.py): no severity or waiver passes a result that carries it
FOREIGN_DATABASE_PROPERTY = "golive.foreign_database"

#: a load check split over N CI jobs (--golive-load-shards): "I/N" on the testcase of the I-th
#: share, and JSON ``{"expect": {...}, "min_samples": n}``, what the gate judges the merged shares by
LOAD_SHARE_PROPERTY = "golive.load_share"
LOAD_THRESHOLDS_PROPERTY = "golive.load_thresholds"


def parse_share(text: str) -> tuple[int, int] | None:
    """``"2/4"`` (a shard of ``--golive-shard``, a load share) -> ``(2, 4)``; None unless 1 <= I <= N."""
    index, _, total = text.partition("/")
    if not (index.isdigit() and total.isdigit()) or not 1 <= int(index) <= int(total):
        return None
    return int(index), int(total)
