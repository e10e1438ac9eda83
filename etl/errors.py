"""The one error type of the ETL: a message a person can act on, and the exit code for the CLI."""


class EtlError(Exception):
    """A problem the user can fix; `str()` says what is wrong and what to do."""

    exit_code = 4

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class DatabaseBusy(EtlError):
    """Another process (normally the running server) holds the database file."""

    exit_code = 3
