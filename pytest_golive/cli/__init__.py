"""The ``golive`` command line."""
