"""The one error every provisioning failure becomes: a single readable line."""


class ProvisionError(Exception):
    """A service or the app could not be started or reached."""
