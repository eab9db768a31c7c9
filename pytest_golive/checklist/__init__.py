"""Stage 1: checklist YAML -> validated model. Imports nothing else from the package."""

from .errors import ChecklistError, Location, Problem
from .loader import load_checklist
from .model import (
    IN_PROCESS_SERVICE_KINDS,
    NETWORK_FAULTS,
    App,
    Check,
    CheckInstance,
    Checklist,
    GatePolicy,
    RankPolicy,
    Retry,
    ServiceSpec,
    Step,
    StubRoute,
    Watch,
)
from .schema import KindSchema, builtin_kind_schema, compose

__all__ = [
    "IN_PROCESS_SERVICE_KINDS",
    "NETWORK_FAULTS",
    "App",
    "Check",
    "CheckInstance",
    "Checklist",
    "ChecklistError",
    "GatePolicy",
    "RankPolicy",
    "KindSchema",
    "Location",
    "Problem",
    "Retry",
    "ServiceSpec",
    "StubRoute",
    "Step",
    "Watch",
    "builtin_kind_schema",
    "compose",
    "load_checklist",
]
