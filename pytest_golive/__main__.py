"""``python -m pytest_golive`` is the ``golive`` command."""

import sys

from .cli.entry import main

sys.exit(main())
