"""The push: Server-Sent Events from a small asyncio server beside waitress, in the same process.

waitress gives every open connection a thread, so a stream per open page or wall display would
take a thread each. This server holds every stream in one thread (asyncio); a commit reaches
the pages and displays subscribed to the scopes it touched as one tiny event, "scope X is now
version N", and they fetch their cached panels over the normal routes. Every 5 s a ping (the
newest version and the server's build) keeps proxies from cutting an idle stream and lets a
display notice a lost connection.

Who may listen: a page or display gets a signed subscription when its layout is built (inside
the login gate, after the scope check): the unit and the subject (a session or a display),
signed with the server's secret. A stream opens only for a valid signature whose subject is
still alive, from an allowed Origin; the subjects are checked again every RECHECK_SECONDS and
the streams of a logged-out session or a revoked display end.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer

from dashboard.live.versions import Change, ScopeVersions

log = logging.getLogger("thuocdo.push")
PING_SECONDS = 5.0
MIN_EVENT_GAP = 1.0               # a scope's events at most this often; the newest goes when due
RECHECK_SECONDS = 15.0
SUBSCRIPTION_MAX_AGE = 3 * 86400  # a display reloads nightly and gets a new one
MAX_BUFFERED = 64 * 1024          # a client this far behind is dropped (it reconnects and catches up)
_SALT = "thuocdo-live-subscription"


def signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


@dataclass(eq=False)
class _Stream:
    unit_id: str
    subject: str
    writer: asyncio.StreamWriter
    opened: float = field(default_factory=time.monotonic)


class PushServer:
    """Streams per unit; `hub` changes are broadcast from the writer's thread into the loop."""

    def __init__(self, hub: ScopeVersions, secret: str, alive: Callable[[set[str]], set[str]],
                 build: str, main_port: int, allowed_origins: tuple[str, ...] = ()):
        self.hub, self.build, self.main_port = hub, build, main_port
        self.alive = alive  # subjects -> those still allowed to listen (runs a query: off the loop)
        self._signer = signer(secret)
        self.allowed_origins = set(allowed_origins)
        self._streams: dict[str, set[_Stream]] = {}
        self._last_sent: dict[str, float] = {}      # unit -> when its last version event went out
        self._due: dict[str, Change] = {}           # unit -> the newest change held back meanwhile
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._ready = threading.Event()
        self.port: int | None = None
        self.sent = 0

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, host: str, port: int) -> "PushServer":
        threading.Thread(target=self._run, args=(host, port), name="thuocdo-push", daemon=True).start()
        if not self._ready.wait(10) or self.port is None:
            raise RuntimeError(f"the push server could not listen on {host}:{port}")
        self.hub.on_change(self._from_writer)
        return self

    def _run(self, host: str, port: int) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(asyncio.start_server(self._handle, host, port, limit=16384))
            self.port = self._server.sockets[0].getsockname()[1]
        except OSError:
            log.exception("push server: cannot listen on %s:%s", host, port)
            self._ready.set()
            return
        self._ready.set()
        loop.create_task(self._pinger())
        loop.create_task(self._rechecker())
        loop.run_forever()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def open_streams(self) -> int:
        return sum(len(s) for s in self._streams.values())

    # --- a stream ----------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        origin = headers.get("origin")
        if len(parts) != 3 or parts[0] not in ("GET", "OPTIONS"):
            return await self._refuse(writer, 405, "only GET", origin)
        url = urlsplit(parts[1])
        if url.path.rstrip("/") not in ("/events", "/live/events"):
            return await self._refuse(writer, 404, "not found", origin)
        if origin is not None and not self._origin_ok(origin, headers.get("host", "")):
            return await self._refuse(writer, 403, "origin not allowed", None)
        if parts[0] == "OPTIONS":
            return await self._refuse(writer, 204, "", origin)
        token = (parse_qs(url.query).get("s") or [""])[0]
        try:
            claim = self._signer.loads(token, max_age=SUBSCRIPTION_MAX_AGE)
            unit_id, subject = claim["u"], claim["who"]
        except (BadSignature, KeyError, TypeError, ValueError):
            return await self._refuse(writer, 403, "not a valid subscription: reload the page", origin)
        alive = await self._loop.run_in_executor(None, self.alive, {subject})
        if subject not in alive:
            return await self._refuse(writer, 401, "signed out or revoked", origin)
        cors = self._cors(origin)
        change = self.hub.of(unit_id)
        writer.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
                      "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: keep-alive\r\n"
                      f"{cors}\r\n"
                      "retry: 2000\n\n").encode() + _event("version", unit_id, change))
        stream = _Stream(unit_id, subject, writer)
        self._streams.setdefault(unit_id, set()).add(stream)
        try:
            await reader.read()  # until the client goes away (it sends nothing more)
        except ConnectionError:
            pass
        finally:
            self._drop(stream)

    def _origin_ok(self, origin: str, host: str) -> bool:
        """The dashboard's own origin (same host name, the dashboard's port), or a configured one."""
        if origin in self.allowed_origins:
            return True
        o, h = urlsplit(origin), urlsplit("//" + host)
        return bool(o.hostname) and o.hostname == h.hostname and (o.port or _default_port(o.scheme)) in (
            self.main_port, h.port or _default_port(o.scheme))

    @staticmethod
    def _cors(origin: str | None) -> str:
        if not origin:
            return ""
        return (f"Access-Control-Allow-Origin: {origin}\r\nAccess-Control-Allow-Credentials: true\r\n"
                "Vary: Origin\r\n")

    async def _refuse(self, writer, status: int, message: str, origin: str | None) -> None:
        reason = {204: "No Content", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                  405: "Method Not Allowed"}[status]
        body = json.dumps({"error": message}).encode() if status != 204 else b""
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n{self._cors(origin)}\r\n".encode() + body)
        try:
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    def _drop(self, stream: _Stream) -> None:
        streams = self._streams.get(stream.unit_id)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self._streams[stream.unit_id]
                self._last_sent.pop(stream.unit_id, None)
        stream.writer.close()

    # --- sending -----------------------------------------------------------------------

    def _from_writer(self, change: Change) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._broadcast, change)

    def _broadcast(self, change: Change) -> None:
        """Each subscribed scope the change touched hears of it, at most every MIN_EVENT_GAP
        seconds: a busy scope (the city, under a stream) gets one event with the newest version
        per second instead of one per batch, and its pages refetch once."""
        units = list(self._streams) if change.touched is None else [u for u in change.touched if u in self._streams]
        now = time.monotonic()
        for unit_id in units:
            wait = self._last_sent.get(unit_id, 0.0) + MIN_EVENT_GAP - now
            if wait <= 0:
                self._send_version(unit_id, change)
            else:
                if unit_id not in self._due:
                    self._loop.call_later(wait, self._send_due, unit_id)
                self._due[unit_id] = change

    def _send_due(self, unit_id: str) -> None:
        change = self._due.pop(unit_id, None)
        if change is not None:
            self._send_version(unit_id, change)

    def _send_version(self, unit_id: str, change: Change) -> None:
        self._last_sent[unit_id] = time.monotonic()
        self._send_all(self._streams.get(unit_id, ()), _event("version", unit_id, change))

    def _send_all(self, streams, payload: bytes) -> None:
        for stream in list(streams):
            transport = stream.writer.transport
            if transport.is_closing() or transport.get_write_buffer_size() > MAX_BUFFERED:
                self._drop(stream)
                continue
            stream.writer.write(payload)
            self.sent += 1

    async def _pinger(self) -> None:
        while True:
            await asyncio.sleep(PING_SECONDS)
            payload = (f"event: ping\ndata: {json.dumps({'version': self.hub.version, 'build': self.build})}\n\n"
                       ).encode()
            for streams in list(self._streams.values()):
                self._send_all(streams, payload)

    async def _rechecker(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            subjects = {s.subject for streams in self._streams.values() for s in streams}
            if not subjects:
                continue
            try:
                alive = await self._loop.run_in_executor(None, self.alive, subjects)
            except Exception:  # the database is busy or gone: check again next time
                log.exception("push: could not check the subscribers")
                continue
            for streams in list(self._streams.values()):
                for stream in list(streams):
                    if stream.subject not in alive:
                        self._drop(stream)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _event(name: str, unit_id: str, change: Change) -> bytes:
    data = {"scope": unit_id, "version": change.version,
            "at": change.local_time.strftime("%H:%M %d/%m")}  # the pages' "Số liệu đến hh:mm dd/mm"
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
