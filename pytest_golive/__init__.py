"""pytest-golive: executable go-live checklists for pytest."""

__version__ = "0.1.0"
