"""The running server's admin channel: `users …` commands while the server owns the database.

DuckDB lets one process write the file, so while the server runs, the CLI cannot open it.
The server therefore listens on a Unix socket beside the database file (mode 0600, and only
the server's own OS user or root may talk to it); the CLI sends the same command it would
have run itself and prints the answer. Effects are immediate: `users disable` ends the
user's sessions on their next request.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import struct
import tempfile
import threading
from pathlib import Path
from typing import Callable

from dashboard.errors import DashboardError

log = logging.getLogger("thuocdo.control")
_MAX_MESSAGE = 1 << 20   # a command (the server reads it)
_MAX_REPLY = 1 << 30     # an answer (`etl status` of a year of API batches is large)
Handler = Callable[[dict], tuple[str, int]]


def socket_path(db_path: str | Path) -> str:
    """Where the server of `db_path` listens: beside the file, or in the temp dir when that is too long."""
    db_path = Path(db_path).resolve()
    path = f"{db_path}.admin.sock"
    if len(path.encode()) < 100:  # AF_UNIX paths are limited to ~108 bytes
        return path
    digest = hashlib.sha256(str(db_path).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"thuocdo-{digest}.sock")


def _read_message(conn: socket.socket, limit: int = _MAX_MESSAGE) -> dict:
    chunks, size = [], 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ValueError("message too large")
        if chunk.endswith(b"\n"):
            break
    return json.loads(b"".join(chunks) or b"{}")


def _peer_allowed(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid in (0, os.getuid())


class ControlServer:
    """A daemon thread answering one command per connection."""

    def __init__(self, db_path: str | Path, handler: Handler):
        self.path = socket_path(db_path)
        self.handler = handler
        self._sock: socket.socket | None = None

    def start(self) -> "ControlServer":
        if os.path.exists(self.path):
            os.unlink(self.path)  # left by a server that died; we hold the database lock, so it is ours
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(self.path)
        finally:
            os.umask(old)
        sock.listen(4)
        self._sock = sock
        threading.Thread(target=self._serve, name="thuocdo-control", daemon=True).start()
        return self

    def _serve(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                try:
                    if not _peer_allowed(conn):
                        log.warning("control: refused a connection from another OS user")
                        continue
                    output, code = self.handler(_read_message(conn))
                except DashboardError as exc:
                    output, code = str(exc), exc.exit_code
                except Exception as exc:  # keep serving; the CLI shows the message
                    log.exception("control command failed")
                    output, code = f"the server could not run the command: {exc}", 1
                conn.sendall(json.dumps({"output": output, "exit_code": code}).encode() + b"\n")

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def send(db_path: str | Path, request: dict, timeout: float = 30) -> tuple[str, int]:
    """Run a command in the server that owns `db_path`; (output, exit code)."""
    path = socket_path(db_path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise DashboardError(
            f"the database {db_path} is held by another process, and no Thước đo server answers on {path}; "
            "stop that process or run this command on the server's machine as the server's user", 3) from None
    with sock:
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = _read_message(sock, _MAX_REPLY)
    return reply.get("output", ""), int(reply.get("exit_code", 1))
