"""JUnit properties that the golive plugin writes and the gate reads (kept light: every
pytest run imports this module)."""

#: how many failed attempts pytest-rerunfailures made before the reported outcome
RERUNS_PROPERTY = "golive.reruns"
#: the needs (``needs:``) that kept a check from running, and how each did not pass
NEEDS_UNMET_PROPERTY = "golive.needs_unmet"
