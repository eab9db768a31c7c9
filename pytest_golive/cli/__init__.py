"""The ``golive`` command line."""

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
