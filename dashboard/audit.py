"""The audit log: sign-ins, failed sign-ins, sign-outs, refused requests, exports, device and
display token use, and changes to users, devices and displays, in the `audit_log` table.

- Never in a request's way: a request only appends a row to an in-memory queue (`record`);
  a daemon thread writes the queue every AUDIT_FLUSH_MS with one INSERT of all its rows, on
  its own cursor (the ingestion writer is not involved). The queue is bounded (QUEUE_MAX): past
  it the oldest rows are dropped, counted, logged, and noted in the log itself as an
  `audit_overflow` row, so a flood of refused requests costs memory and time it cannot grow.
- Unforgeable: values are bound as parameters, every field is cut to its length, and anything
  that came with a request (names, paths, values) has control characters, bidi overrides and
  line breaks removed (dashboard/text.py), so no value can start a second line or row. The
  token itself is never stored.
- Token use is not a row per request (the API takes tens of requests a second): a live token's
  use is written once per AUDIT_TOKEN_MINUTES per device or display, with the number of requests
  since its previous row; a refused token likewise per (token, client address).
- User, device and display changes from the command line are written at once with the
  command's cursor (`write_now`): they are rare, and the command may run without a server.
- Retention: rows older than AUDIT_RETENTION_DAYS are deleted by the same thread, at most once
  a day.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import reprlib
import threading
import time
from collections import OrderedDict, deque
from datetime import date, datetime, timedelta

from dashboard import text

log = logging.getLogger("thuocdo.audit")

KINDS = ("login", "login_failed", "logout", "denied", "export", "token_use", "token_refused",
         "user_change", "device_change", "display_change", "audit_overflow")
COLUMNS = ("at", "kind", "username", "role", "client", "path", "target", "detail")
LIMITS = {"kind": 32, "username": 64, "role": 16, "client": 64, "path": 200, "target": 200}
DETAIL_KEYS = 12      # a detail object keeps at most this many keys
DETAIL_KEY = 40       # … each name at most this long
DETAIL_VALUE = 200    # … and each text value at most this long: a row stays under ~3 KB
QUEUE_MAX = 10_000    # rows waiting for the writer; past it the oldest are dropped (and counted)
TOKEN_KEYS = 10_000   # token-use counters kept (least recently used forgotten first)
PRUNE_EVERY = 86_400  # seconds between retention deletes
_EXTENSION = "thuocdo_audit"
_CURRENT = object()   # `record(username=…)` default: the signed-in user
_LINE_SEPARATORS = re.compile("[\u2028\u2029\u0085]")  # line breaks text.plain leaves in
_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")  # 2026-12-02
_VN_DAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")    # 02/12/2026, as the page shows days
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = DETAIL_VALUE
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 10
_SHORT.maxlevel = 3

_COLUMNS_SQL = ", ".join(f'"{c}"' for c in COLUMNS)  # quoted: AT is a keyword
_INSERT = (f"INSERT INTO audit_log ({_COLUMNS_SQL}) "
           "SELECT unnest(?::TIMESTAMP[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
           "unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])")


# --- making values safe -------------------------------------------------------------------

def clean(value, limit: int) -> str | None:
    """`value` as one plain line of at most `limit` characters (None stays None). Anything not
    text is shown by a bounded repr, so a forged 1 MB list costs no more than a short one."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = _SHORT.repr(value)
    # Cut first so a megabyte of input is not scanned; text.plain then drops controls, bidi
    # marks and breaks, and cuts to the limit with an ellipsis.
    return text.plain(_LINE_SEPARATORS.sub(" ", value[:limit * 4]), limit)


def shown(value, limit: int = DETAIL_VALUE) -> str:
    """A value for a log line: a bounded repr, so neither a newline nor a 10,000-character
    value reaches the log as it came."""
    return _SHORT.repr(value if not isinstance(value, str) else value[:limit])


def detail_text(detail) -> str | None:
    """A detail object as JSON text: at most DETAIL_KEYS keys, every text cut and plain."""
    if detail is None:
        return None
    if not isinstance(detail, dict):
        detail = {"value": detail}
    out = {}
    for key, value in list(detail.items())[:DETAIL_KEYS]:
        if not (value is None or isinstance(value, (bool, int, float))):
            value = clean(value, DETAIL_VALUE)
        elif isinstance(value, float) and not math.isfinite(value):  # NaN and infinities are not JSON
            value = None
        out[clean(key, DETAIL_KEY)] = value
    return json.dumps(out, ensure_ascii=False, allow_nan=False, default=str)


def entry(kind: str, *, username=None, role=None, client=None, path=None, target=None, detail=None,
          at: datetime | None = None) -> tuple:
    """One row, every field cleaned and cut (the order of COLUMNS)."""
    return (at or datetime.now(), clean(kind, LIMITS["kind"]), clean(username, LIMITS["username"]),
            clean(role, LIMITS["role"]), clean(client, LIMITS["client"]), clean(path, LIMITS["path"]),
            clean(target, LIMITS["target"]), detail_text(detail))


def write(cur, rows: list[tuple]) -> None:
    """All `rows` in one INSERT statement, each column bound as one list parameter."""
    if rows:
        cur.execute(_INSERT, [list(col) for col in zip(*rows)])


def write_now(cur, kind: str, **fields) -> None:
    """One row written at once (the command line: rare, and possibly without a server);
    a failure is logged, never raised: the change it records has been made."""
    try:
        write(cur, [entry(kind, **fields)])
    except Exception:  # noqa: BLE001 - the audit must not undo or hide the change itself
        log.exception("audit: could not write a %s row", kind)


# --- the queue and its writer thread --------------------------------------------------------

class AuditLog:
    """The server's queue of audit rows and the daemon thread that writes them in batches."""

    def __init__(self, database, retention_days: int = 365, token_minutes: int = 60, flush_ms: int = 1000,
                 queue_max: int = QUEUE_MAX, clock=time.monotonic):
        self.database, self.retention_days = database, retention_days
        self.token_seconds, self.interval, self.queue_max, self.clock = token_minutes * 60, flush_ms / 1000, queue_max, clock
        self._queue: deque[tuple] = deque()
        self._lock = threading.Lock()        # the queue and the counters
        self._flush_lock = threading.Lock()  # one flush at a time (the thread, tests, stop)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._uses: OrderedDict[tuple, list] = OrderedDict()  # token key -> [time of its last row, uses since]
        self._last_prune: float | None = None
        self.dropped = 0        # rows dropped because the queue was full, since start
        self._dropped_unsaid = 0
        self.statements = 0     # INSERT statements executed (tests: many rows, few statements)
        self.written = 0        # rows written

    # requests call these ---------------------------------------------------------------
    def add(self, row: tuple) -> None:
        with self._lock:
            self._queue.append(row)
            while len(self._queue) > self.queue_max:
                self._queue.popleft()
                self.dropped += 1
                self._dropped_unsaid += 1

    def token_due(self, key: tuple) -> int:
        """How many uses of `key` (this one included) the row to write now covers, or 0 when a row
        was written for it within AUDIT_TOKEN_MINUTES (the use is counted for the next one)."""
        now = self.clock()
        with self._lock:
            seen = self._uses.get(key)
            if seen is None:
                seen = self._uses[key] = [None, 0]
            self._uses.move_to_end(key)
            while len(self._uses) > TOKEN_KEYS:
                self._uses.popitem(last=False)
            seen[1] += 1
            if seen[0] is not None and now - seen[0] < self.token_seconds:
                return 0
            uses, seen[0], seen[1] = seen[1], now, 0
            return uses

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # the thread ------------------------------------------------------------------------
    def flush(self) -> int:
        """Write every queued row with one INSERT; returns how many. Never raises."""
        with self._flush_lock:
            with self._lock:
                rows, self._queue = list(self._queue), deque()
                dropped, self._dropped_unsaid = self._dropped_unsaid, 0
            if dropped:
                log.warning("audit: the queue passed %d rows; dropped the %d oldest", self.queue_max, dropped)
                rows.append(entry("audit_overflow", detail={"dropped": dropped, "queue_max": self.queue_max}))
            if not rows:
                return 0
            try:
                cur = self.database.cursor()
                try:
                    write(cur, rows)
                finally:
                    cur.close()
            except Exception:  # noqa: BLE001 - a lost batch is logged; requests never wait on it
                log.exception("audit: could not write %d rows", len(rows))
                return 0
            self.statements += 1
            self.written += len(rows)
            return len(rows)

    def prune(self, now: datetime | None = None) -> int:
        """Delete rows older than AUDIT_RETENTION_DAYS; returns how many."""
        cutoff = (now or datetime.now()) - timedelta(days=self.retention_days)
        cur = self.database.cursor()
        try:
            n = cur.execute('SELECT count(*) FROM audit_log WHERE "at" < ?', [cutoff]).fetchone()[0]
            if n:
                cur.execute('DELETE FROM audit_log WHERE "at" < ?', [cutoff])
                log.info("audit: deleted %d rows older than %d days", n, self.retention_days)
            return n
        finally:
            cur.close()

    def maybe_prune(self) -> None:
        """`prune` at most once a day (the first time soon after start)."""
        now = self.clock()
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            self.prune()
        except Exception as exc:  # noqa: BLE001 - e.g. the database closed under a test's app
            log.warning("audit: retention delete failed (%s); trying again tomorrow", type(exc).__name__)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()
            self.maybe_prune()

    def start(self) -> "AuditLog":
        self._thread = threading.Thread(target=self._run, name="thuocdo-audit", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and write what is queued (before the database closes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def init_app(server) -> AuditLog:
    """Start the audit thread on the app's database (after db.init_app)."""
    checked = server.config["THUOCDO"]
    audit = AuditLog(server.extensions["thuocdo_db"], checked["AUDIT_RETENTION_DAYS"],
                     checked["AUDIT_TOKEN_MINUTES"], checked["AUDIT_FLUSH_MS"])
    server.extensions[_EXTENSION] = audit
    return audit.start()


def current():
    """The running app's AuditLog, or None outside one."""
    from flask import current_app, has_app_context
    return current_app.extensions.get(_EXTENSION) if has_app_context() else None


# --- what requests call ----------------------------------------------------------------------

def record(kind: str, *, username=_CURRENT, role=_CURRENT, target=None, detail=None) -> None:
    """Queue a row about the current request: who (the signed-in user unless `username` is
    given), from where, which path. Never raises and never waits for the database."""
    try:
        audit = current()
        if audit is None:
            return
        from flask import has_request_context, request
        from flask_login import current_user

        signed_in = getattr(current_user, "is_authenticated", False)
        if username is _CURRENT:
            username = current_user.username if signed_in else None
        if role is _CURRENT:
            role = current_user.role if signed_in and username == current_user.username else None
        client = path = None
        if has_request_context():
            client, path = request.remote_addr, request.path
        audit.add(entry(kind, username=username, role=role, client=client, path=path, target=target, detail=detail))
    except Exception:  # noqa: BLE001 - an audit failure must not break the request it describes
        log.exception("audit: could not queue a %s row", kind)


def token_hint(token) -> str | None:
    """A short, one-way mark of a presented token (the first 8 hex of its sha256), so repeated
    tries of one unknown token can be told apart without storing it."""
    if not isinstance(token, str) or not token:
        return None
    return hashlib.sha256(token[:1024].encode("utf-8", "surrogatepass")).hexdigest()[:8]


def token_used(kind: str, name: str) -> None:
    """A live device (`kind` device) or display token was used: a row at most once per
    AUDIT_TOKEN_MINUTES per name, counting the uses since the previous one."""
    try:
        audit = current()
        uses = audit.token_due(("use", kind, name)) if audit is not None else 0
        if uses:
            record("token_use", username=None, role=None, target=f"{kind}:{name}", detail={"uses": uses})
    except Exception:  # noqa: BLE001 - never in the request's way
        log.exception("audit: could not note a token use")


def token_refused(kind: str, token, holder=None, reason: str | None = None) -> None:
    """A presented token was refused: unknown, revoked (`holder`, or a function giving it only
    when a row is due, names whose it was), or of the wrong sort (`reason`). Rate-limited per
    (token, client address) like `token_used`; a request without any token writes nothing."""
    try:
        audit, hint = current(), token_hint(token)
        if audit is None or hint is None:
            return
        from flask import has_request_context, request
        client = request.remote_addr if has_request_context() else None
        uses = audit.token_due(("refused", kind, hint, client))
        if not uses:
            return
        if callable(holder):
            holder = holder()
        state = reason or ("revoked" if holder else "unknown")
        record("token_refused", username=None, role=None, target=f"{kind}:{holder}" if holder else kind,
               detail={"state": state, "token_sha256": hint, "uses": uses})
    except Exception:  # noqa: BLE001 - never in the request's way
        log.exception("audit: could not note a refused token")


# --- reading it (the Dữ liệu page) -------------------------------------------------------

def _day(value) -> date | None:
    """A day typed as dd/mm/yyyy or yyyy-mm-dd, else None (ASCII digits only, matched whole)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    found = _ISO_DAY.fullmatch(value)
    parts = (int(found[1]), int(found[2]), int(found[3])) if found else None
    found = None if parts else _VN_DAY.fullmatch(value)
    if found:
        parts = (int(found[3]), int(found[2]), int(found[1]))
    try:
        return date(*parts) if parts else None
    except ValueError:
        return None


def entries(cur, *, kind=None, username=None, start=None, end=None, page=0, size: int = 50) -> tuple[list[dict], int, int]:
    """The newest rows first, filtered by kind (one of KINDS), username (contains, any case) and
    the days start..end inclusive (dd/mm/yyyy or yyyy-mm-dd); anything malformed is ignored as a filter.
    Returns (rows of page `page`, total rows, pages)."""
    where, params = [], []
    if isinstance(kind, str) and kind in KINDS:
        where.append("kind = ?")
        params.append(kind)
    if isinstance(username, str) and username.strip():
        where.append("strpos(lower(coalesce(username, '')), lower(?)) > 0")
        params.append(username.strip()[:LIMITS["username"]])
    first, last = _day(start), _day(end)
    if first:
        where.append('"at" >= ?')
        params.append(datetime.combine(first, datetime.min.time()))
    if last:
        where.append('"at" < ?')
        params.append(datetime.combine(last + timedelta(days=1), datetime.min.time()))
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = cur.execute(f"SELECT count(*) FROM audit_log{clause}", params).fetchone()[0]
    pages = max(1, -(-total // size))
    page = min(max(page if type(page) is int else 0, 0), pages - 1)
    rows = cur.execute(f"SELECT id, {_COLUMNS_SQL} FROM audit_log{clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                       [*params, size, page * size]).fetchall()
    return [dict(zip(("id", *COLUMNS), r)) for r in rows], total, pages


def detail_line(detail: str | None) -> str:
    """A stored detail as one readable plain line: `key: value · key: value`."""
    if not detail:
        return ""
    try:
        value = json.loads(detail)
    except ValueError:
        return text.plain(detail, 400)
    if not isinstance(value, dict):
        return text.plain(str(value), 400)
    return text.plain(" · ".join(f"{k}: {'' if v is None else v}" for k, v in value.items()), 400)
