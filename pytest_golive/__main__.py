"""``python -m pytest_golive`` is the ``golive`` command."""

import sys

from .cli.main import main

sys.exit(main())
