"""Stage 2a: throwaway infrastructure (Postgres, Redis, the app under test) for a run.

Knows nothing of pytest. The plugin decides when to provision; this package does it
and guarantees that whatever a run starts is recorded and can be torn down.
"""

from .endpoint import Endpoint
from .errors import ProvisionError

__all__ = ["Endpoint", "ProvisionError"]
