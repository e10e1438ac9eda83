"""The one error type of the ETL: a message a person can act on, and the exit code for the CLI."""
import errno


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


class StorageError(EtlError):
    """The disk refused a write (full, read-only, over quota): nothing of the batch was stored,
    and the same batch can be sent again once there is room."""


_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO}
# DuckDB reports the OS error inside its own message ("Could not write file …: No space left on device").
_STORAGE_TEXTS = ("No space left on device", "Disk quota exceeded", "Read-only file system", "File too large",
                  "Input/output error")


def as_storage_error(exc: BaseException) -> StorageError | None:
    """`exc` as a StorageError when it is the disk refusing a write; None for any other fault."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        reason = exc.strerror or str(exc)
    else:
        reason = next((text for text in _STORAGE_TEXTS if text in str(exc)), None)
    if reason is None:
        return None
    return StorageError(f"the server cannot write to its disk ({reason}); nothing of this was stored: "
                        "free space (or make the folder writable), then send it again")
