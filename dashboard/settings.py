"""Every server setting, declared once with its default and why it exists; checked at start.

Values come from, in rising priority: the defaults below, environment variables
`THUOCDO_<NAME>`, and the `config` dict given to `create_app` (tests, the CLI).
Secrets are read from the environment only, so they never land in shell history or files.
"""
from __future__ import annotations

import difflib
import os
import secrets
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from dashboard.errors import DashboardError
from etl.db import DEFAULT_MEMORY_LIMIT

ENV_PREFIX = "THUOCDO_"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    secret: bool = False
    choices: tuple = ()
    minimum: int | None = None

    @property
    def kind(self) -> type:
        return str if self.default is None else type(self.default)


_ALL = (
    Setting("DB_PATH", "data/thuocdo.duckdb", "DuckDB file the server opens and owns (DuckDB allows one writing process)"),
    Setting("SECRET_KEY", None, "signs session cookies; environment only (THUOCDO_SECRET_KEY), at least 32 characters", secret=True),
    Setting("DEMO", False, "demo mode: a random SECRET_KEY is allowed when none is set, and demo users are (re)created"),
    Setting("DEFAULT_LANGUAGE", "vi", "language of a visitor who has not picked one", choices=("vi", "en")),
    Setting("SESSION_HOURS", 12, "a login lasts this many hours, then the user signs in again", minimum=1),
    Setting("TRUSTED_PROXY", "", "the address of the TLS proxy in front of the server (e.g. 127.0.0.1): requests from it are taken to come from the client its X-Forwarded-For names (throttle, audit); empty trusts no such header, so a client cannot choose its address"),
    Setting("LOGIN_MAX_FAILURES", 5, "failed logins per username (x4 per client address) within the window before throttling", minimum=1),
    Setting("LOGIN_WINDOW_SECONDS", 900, "the window in which failed logins are counted", minimum=1),
    Setting("COOKIE_SECURE", False, "send cookies over HTTPS only; turn on when served behind a TLS proxy"),
    Setting("PUBLIC_ORIGINS", "", "the dashboard's origins as browsers reach it, space-separated, when a proxy rewrites the Host header, e.g. https://dash.example; a POST from any other page origin gets 403 (default: the request's own scheme://host, https when COOKIE_SECURE)"),
    Setting("POLL_SECONDS", 5, "how often open pages ask for their data version while the push is not connected", minimum=1),
    Setting("CACHE_ENTRIES", 2000, "panels kept in memory, shared by all viewers, dropped when data_version changes", minimum=10),
    Setting("PAGE_SIZE", 20, "rows per page of the explore and alerts tables", minimum=5),
    # Tile targets: a unit's own OKR key result for the KPI comes first.
    Setting("TARGET_ON_TIME_RATE", 90, "target on-time rate in percent shown on tiles of units without a key result for it; 0 = none", minimum=0),
    Setting("TARGET_COMPLETION_RATE", 95, "target completion rate in percent, the same way; 0 = none", minimum=0),
    Setting("TARGET_SATISFACTION_RATE", 90, "target citizen satisfaction rate in percent, the same way; 0 = none", minimum=0),
    Setting("EXPORT_MAX_ROWS", 200_000, "largest CSV/Excel export; larger requests are refused with a message", minimum=1),
    Setting("THREADS", 64, "waitress worker threads in the one server process; an API request holds one until its batch commits (up to INGEST_BATCH_MS plus the load), so allow the API's requests per second, plus the pages' share", minimum=1),
    Setting("CONNECTIONS", 1000, "open HTTP connections waitress accepts before it stops listening for a while (each waiting API request holds one)", minimum=10),
    Setting("MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT, "DuckDB memory cap inside the server process (schema upgrades on open need the ETL's)"),
    Setting("INGEST_BATCH_MS", 500, "under a stream of arrivals the writer loads a micro-batch at most this often (a quiet server loads at once)", minimum=10),
    Setting("IDLE_MAINTENANCE_SECONDS", 30, "compaction and checkpoints wait until nothing has arrived for this long", minimum=1),
    Setting("INBOX", True, "watch the inbox folder and load every contract file renamed into it"),
    Setting("INBOX_DIR", "", "folder watched for contract files (default: inbox/ beside the database)"),
    Setting("ARCHIVE_DIR", "", "where loaded files and API batches are kept (default: archive/ beside the database)"),
    Setting("BACKUP_DIR", "", "where `python -m etl backup` writes snapshots while the server runs (default: backups/ beside the database)"),
    # Scale-out (docs/scale-out.md)
    Setting("LAKE_DIR", "", "append every committed fact to this lake folder as Parquet, for Spark (docs/scale-out.md); empty = off"),
    Setting("LAKE_SOURCE", "local", "this server's name in a shared lake, e.g. the province's code (letters, digits, - and _)"),
    Setting("PROVINCE_URL", "", "on a server of imported rollups: the provinces' dashboard address, linked where a page's detail (an official's tasks) lives there"),
    Setting("REJECTED_DIR", "", "where rejected inbox files go, each beside NAME.reason.txt (default: rejected/ beside the database)"),
    Setting("API_MAX_RECORDS", 1000, "most records in one POST to /api/v1/<kind>; more get 413", minimum=1),
    Setting("API_MAX_BYTES", 1_000_000, "largest body of a POST to /api/v1/<kind>, in bytes; larger gets 413", minimum=1024),
    Setting("LIVE_PUBLIC_URL", "", "the push server's address as browsers reach it behind a proxy, e.g. https://dash.example/live (default: this host, LIVE_PORT)"),
    Setting("LIVE_ALLOWED_ORIGINS", "", "other page origins allowed to open the push stream, space-separated (the dashboard's own is always allowed)"),
    Setting("DISPLAY_FRAME_ANCESTORS", "", "origins allowed to frame the wall display /display (signage players), space-separated; empty = none"),
    Setting("AUDIT_RETENTION_DAYS", 365, "audit log rows (sign-ins, refusals, exports, token use, user changes) older than this many days are deleted, once a day", minimum=1),
    Setting("AUDIT_TOKEN_MINUTES", 60, "a device's or display's token use is written to the audit log once per this many minutes, with the number of requests since", minimum=1),
    Setting("AUDIT_FLUSH_MS", 1000, "the audit log's queued rows are written this often, in one INSERT", minimum=50),
    Setting("LOG_FILE", "", "also write the server log to this file, rotated at LOG_MAX_BYTES (default: standard error only)"),
    Setting("LOG_MAX_BYTES", 10_000_000, "the log file is rotated when it reaches this size", minimum=10_000),
    Setting("LOG_BACKUPS", 5, "rotated log files kept (FILE.1 … FILE.N)", minimum=1),
    Setting("LIVE_PORT", -1, "port of the push server (Server-Sent Events); -1 = the dashboard's port + 1, 0 = off (pages poll)", minimum=-1),
    # e-mail digests and the monthly report (dashboard/digests, dashboard/reports)
    Setting("PUBLIC_BASE_URL", "", "the dashboard's address in e-mailed links, e.g. https://dash.example (default: the first of PUBLIC_ORIGINS)"),
    Setting("SMTP_HOST", "", "mail server for the digests; empty = digests are not sent (logged as skipped)"),
    Setting("SMTP_PORT", 587, "mail server port (587 STARTTLS, 465 SSL, 25 none)", minimum=1),
    Setting("SMTP_TLS", "starttls", "how to talk to the mail server: starttls, ssl or none (loopback relays only)", choices=("starttls", "ssl", "none")),
    Setting("SMTP_USER", "", "mail server login (empty = no login); the password only from THUOCDO_SMTP_PASSWORD"),
    Setting("SMTP_PASSWORD", None, "mail server password; environment only (THUOCDO_SMTP_PASSWORD)", secret=True),
    Setting("MAIL_FROM", "Thuoc do <thuocdo@localhost>", "the digests' sender address"),
    Setting("DIGESTS", True, "send the subscribed digests from a thread inside the server, each morning"),
    Setting("DIGEST_HOUR", 7, "digests go out from this hour, Asia/Ho_Chi_Minh time (0-23)", minimum=0),
    Setting("DIGEST_WEEKDAY", 0, "the weekly digest's day: 0 = Monday … 6 = Sunday", minimum=0),
    Setting("DIGEST_RETRIES", 3, "a failed delivery is tried again this many times", minimum=0),
    Setting("DIGEST_RETRY_SECONDS", 30, "wait before the first retry, doubled before each next one", minimum=0),
    Setting("EVALUATION_DEADLINE_DAY", 5, "a month's evaluations are due on this day of the next month (digests remind before it)", minimum=1),
    Setting("EVALUATION_REMINDER_DAYS", 3, "digests list pending evaluations in this many days before the deadline", minimum=0),
)
SETTINGS: Mapping[str, Setting] = MappingProxyType({s.name: s for s in _ALL})


def _parse(setting: Setting, raw: Any, source: str) -> Any:
    kind = setting.kind
    try:
        if kind is bool:
            if isinstance(raw, bool):
                value = raw
            elif str(raw).strip().lower() in ("1", "true", "yes", "on"):
                value = True
            elif str(raw).strip().lower() in ("0", "false", "no", "off", ""):
                value = False
            else:
                raise ValueError(raw)
        elif kind is int:
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = int(raw)
        else:
            value = str(raw)
    except (TypeError, ValueError):
        raise DashboardError(f"setting {setting.name} from {source}: {raw!r} is not a {kind.__name__}") from None
    if setting.choices and value not in setting.choices:
        raise DashboardError(f"setting {setting.name} from {source}: {value!r} is not one of {', '.join(setting.choices)}")
    if setting.minimum is not None and value < setting.minimum:
        raise DashboardError(f"setting {setting.name} from {source}: {value} is below the minimum {setting.minimum}")
    return value


def _unknown(key: str, source: str) -> DashboardError:
    close = difflib.get_close_matches(key, SETTINGS, n=1)
    hint = f" Did you mean {close[0]}?" if close else f" Known settings: {', '.join(SETTINGS)}."
    return DashboardError(f"unknown setting {key!r} in {source}.{hint} (`python -m dashboard settings` lists them)")


def load(config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Mapping[str, Any]:
    """The checked settings: defaults, then THUOCDO_* variables, then `config`; a read-only mapping."""
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in _ALL}
    for env_key, raw in environ.items():
        if not env_key.startswith(ENV_PREFIX):
            continue
        key = env_key[len(ENV_PREFIX):]
        if key not in SETTINGS:
            raise _unknown(key, f"the environment variable {env_key}")
        values[key] = _parse(SETTINGS[key], raw, env_key)
    for key, raw in (config or {}).items():
        if key not in SETTINGS:
            raise _unknown(key, "the configuration")
        if SETTINGS[key].secret:
            raise DashboardError(f"{key} is a secret: set it in the environment as {ENV_PREFIX}{key}, not in configuration")
        values[key] = _parse(SETTINGS[key], raw, "the configuration")
    secret = values["SECRET_KEY"]
    if not secret:
        if not values["DEMO"]:
            raise DashboardError(
                f"no secret key: set {ENV_PREFIX}SECRET_KEY in the environment (for example "
                f"`export {ENV_PREFIX}SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')`), "
                "or start with --demo to try the dashboard on demo data")
        values["SECRET_KEY"] = secrets.token_hex(32)  # demo only: sessions end when the server stops
    elif len(secret) < 32:
        raise DashboardError(f"{ENV_PREFIX}SECRET_KEY is too short ({len(secret)} characters); use at least 32 random characters")
    return MappingProxyType(values)


def describe() -> str:
    """One line per setting: name, default and what it is for (`python -m dashboard settings`)."""
    lines = []
    for s in _ALL:
        default = "(environment only)" if s.secret else repr(s.default)
        lines.append(f"{ENV_PREFIX}{s.name:<22} default {default:<22} {s.help}")
    return "\n".join(lines)


def current() -> Mapping[str, Any]:
    """The running app's settings (inside a request)."""
    from flask import current_app
    return current_app.config["THUOCDO"]
