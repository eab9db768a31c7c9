"""Readers of other tools' result files (JUnit XML, coverage). A bottom layer: imports
nothing from the package, so the check kinds and the gate can both use it."""

from .errors import UnusableInput

__all__ = ["UnusableInput"]
