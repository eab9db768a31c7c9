"""Stage 2: check execution. Runs a checklist's checks; knows nothing of pytest."""

from .base import Kind, Mismatch, Observation, RunSettings, StepContext, StepError, StepTimeout
from .redaction import Redactor
from .registry import ENTRY_POINT_GROUP, KindRegistryError, kind_schemas, load_kind_schemas, load_kinds
from .runner import CheckProblem, CheckResult, StepOutcome, render_vars, run_check

__all__ = [
    "ENTRY_POINT_GROUP",
    "CheckProblem",
    "CheckResult",
    "Kind",
    "KindRegistryError",
    "Mismatch",
    "Observation",
    "Redactor",
    "RunSettings",
    "StepContext",
    "StepError",
    "StepOutcome",
    "StepTimeout",
    "kind_schemas",
    "load_kind_schemas",
    "load_kinds",
    "render_vars",
    "run_check",
]
