"""The dashboard's one error type: a message a person can act on, shown once by the CLI."""


class DashboardError(Exception):
    """A problem the user can fix; `str()` says what is wrong and what to do."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
