"""An input file that cannot be used: the gate's exit status 2, always one line."""


class UnusableInput(Exception):
    """A missing, empty, corrupt or hostile input file."""
