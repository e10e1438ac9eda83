"""The versioned HTTP API: ingestion from devices and systems, counter duty, and the KPI read.

- `POST /api/v1/{ratings,tasks,evaluations}`: a JSON array of contract records (the lines of
  a .jsonl file). The server's one writer loads them, with every other arrival of its window,
  in one transaction per kind; the answer comes only after the commit and gives each record
  its result (`loaded`, `duplicate`, `stale`, or the quarantine reason). Records are keyed by
  their id, so a retried batch changes nothing.
- Devices authenticate with a bearer token (`python -m dashboard devices add`), stored hashed.
  A counter device may post ratings of its own counter, for an official who has been on duty
  there, and read its counter's duty; a system token (no counter) may post every kind and set
  any counter's duty. A token opens no page and no read API.
- The kiosk page sends its token as an HttpOnly cookie instead; such calls must carry the
  header `X-Thuocdo-Device: 1`, which a cross-site form cannot send (CSRF).
- `GET /api/v1/kpis` is for signed-in users, in their scope (the login gate applies).
"""
from __future__ import annotations

import json
import logging
from functools import wraps

from flask import Blueprint, Flask, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from dashboard import audit, db, ingest, live, settings, text, tokens
from dashboard.auth import token_endpoint
from dashboard.errors import DashboardError
from etl.errors import StorageError
from etl.kinds import KINDS

log = logging.getLogger("thuocdo.api")
bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
DEVICE_COOKIE = "thuocdo_device"
DEVICE_HEADER = "X-Thuocdo-Device"
POSTABLE = ("ratings", "tasks", "evaluations")
WRITER_TIMEOUT = 30  # seconds a request waits for its commit; past it, 503 (retrying is safe)


def _error(status: int, message: str, **extra):
    return jsonify(error=message, **extra), status


def _presented_token() -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer "):].strip()
    if request.cookies.get(DEVICE_COOKIE) and request.headers.get(DEVICE_HEADER) == "1":
        return request.cookies.get(DEVICE_COOKIE)
    return None


def device_required(view):
    """The view runs for a live device token only (g.device); 401 otherwise."""
    @wraps(view)
    def checked(*args, **kwargs):
        token = _presented_token()
        device = tokens.device_for_token(db.cursor(), token)
        if device is None:
            if token:
                audit.token_refused("device", token, lambda: tokens.revoked_holder(db.cursor(), "device", token))
            return _error(401, "a valid device token is required (Authorization: Bearer …); "
                               "it may have been revoked")
        g.device = device
        audit.token_used("device", device.name)
        return view(*args, **kwargs)
    token_endpoint(bp.name, view.__name__)
    return checked


def _read_records():
    """The body's records, or an error response: a JSON array of objects within the limits."""
    limits = settings.current()
    too_large = _error(413, f"the body is larger than {limits['API_MAX_BYTES']:,} bytes; send smaller batches")
    if (request.content_length or 0) > limits["API_MAX_BYTES"]:
        return None, too_large  # refused before a byte of it is read
    request.max_content_length = limits["API_MAX_BYTES"]  # a chunked body stops at the limit too
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return None, too_large
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        return None, _error(400, "the body is not JSON: send a JSON array of records")
    if isinstance(body, dict) and isinstance(body.get("records"), list):
        body = body["records"]
    if not isinstance(body, list) or not body:
        return None, _error(400, "send a non-empty JSON array of records (or {\"records\": [...]})")
    if len(body) > limits["API_MAX_RECORDS"]:
        return None, _error(413, f"{len(body):,} records in one batch; at most {limits['API_MAX_RECORDS']:,}")
    return body, None


def _refusal(device: tokens.Device, kind: str, record, duty: set[str]) -> str | None:
    """Why this device may not post this record (None: it may)."""
    if device.is_system:
        return None
    if kind != "ratings":
        return "a counter device may post ratings only"
    if not isinstance(record, dict):
        return None  # not a record at all: the loader quarantines it with its reason
    if record.get("counter_id") != device.counter_id:
        return f"counter_id must be this device's counter {device.counter_id}"
    if record.get("official_id") not in duty:
        return "official_id has never been on duty at this counter"
    return None


_STATUS = {"loaded": 201, "duplicate": 200, "stale": 200, "conflict": 409, "forbidden": 403}


def _record_id(kind: str, record) -> str | None:
    value = record.get(KINDS[kind].key[0]) if isinstance(record, dict) else None
    return value if isinstance(value, (str, int)) else None


@bp.route("/<kind>", methods=["POST"])
@device_required
def post_records(kind: str):
    if kind not in POSTABLE:
        return _error(404, f"no such record kind; post to one of {', '.join(POSTABLE)}")
    device = g.device
    if not device.is_system and kind != "ratings":
        return _error(403, "a counter device may post ratings only")
    records, problem = _read_records()
    if problem:
        return problem
    duty = tokens.duty_officials(db.cursor(), device.counter_id) if not device.is_system else set()
    allowed, results = [], [None] * len(records)
    for i, record in enumerate(records):
        why = _refusal(device, kind, record, duty)
        if why:
            results[i] = {"id": _record_id(kind, record), "result": "forbidden", "status": 403, "detail": why}
        else:
            allowed.append(i)
    batch_id = None
    if allowed:
        try:
            batch_id, loaded = ingest.writer().submit_records(kind, [records[i] for i in allowed], WRITER_TIMEOUT)
        except TimeoutError:
            return _error(503, "the server is busy; the batch is queued and will be loaded: retry later (a retry "
                               "never counts a record twice)", retry_after=5)
        except StorageError as exc:  # nothing of the batch was stored: the device keeps it and resends
            return _error(503, str(exc), retry_after=30)
        for i, outcome in zip(allowed, loaded):
            results[i] = {"id": _record_id(kind, records[i]), "result": outcome.result,
                          "status": _STATUS.get(outcome.result, 422), "detail": outcome.detail}
    counts = {"loaded": sum(r["result"] == "loaded" for r in results),
              "duplicates": sum(r["result"] in ("duplicate", "stale") for r in results),
              "quarantined": sum(r["status"] >= 400 and r["result"] != "forbidden" for r in results),
              "refused": sum(r["result"] == "forbidden" for r in results)}
    good = counts["loaded"] + counts["duplicates"]
    status = 200 if good == len(results) else (207 if good else 422)
    if counts["refused"]:
        log.warning("device %s: refused %d %s record(s)", device.name, counts["refused"], kind)
    return jsonify(batch_id=batch_id, results=results, **counts), status


@bp.route("/device")
@device_required
def whoami():
    d = g.device
    return jsonify(name=d.name, counter_id=d.counter_id, build=live.build_id())


@bp.route("/device/heartbeat", methods=["POST"])
@device_required
def device_heartbeat():
    body = request.get_json(silent=True) if (request.content_length or 0) <= 4096 else None
    if not isinstance(body, dict):
        return _error(400, "send a small JSON object: build, screen, queued, ignored_repeats")
    repeats = body.get("ignored_repeats")
    repeats = repeats if isinstance(repeats, int) and 0 <= repeats < 1_000_000 else 0
    info = {k: body.get(k) for k in ("build", "screen", "queued")}
    tokens.record_device_heartbeat(db.cursor(), g.device.name, info, repeats)
    return "", 204


@bp.route("/counters/<counter_id>/duty", methods=["GET", "POST"])
@device_required
def counter_duty(counter_id: str):
    device = g.device
    if not device.is_system and counter_id != device.counter_id:
        return _error(403, "a counter device reads its own counter only")
    cur = db.cursor()
    if request.method == "POST":
        if not device.is_system:
            return _error(403, "only a system token (the queue system) sets who is on duty")
        body = request.get_json(silent=True) if (request.content_length or 0) <= 4096 else None
        official_id = body.get("official_id") if isinstance(body, dict) else None
        if not isinstance(official_id, str):
            return _error(400, 'send {"official_id": "..."}')
        try:
            tokens.assign_duty(cur, counter_id, official_id, f"device:{device.name}")
        except DashboardError as exc:
            return _error(422, str(exc))
    found = tokens.duty(cur, counter_id)
    official = None
    if found:
        # Shown on the counter's screen: plain text within the contract's limit, whatever was stored
        # before the loader enforced it (no bidi overrides, no 10,000-character name).
        official = {"official_id": found["official_id"], "full_name": text.plain(found["full_name"], text.LINE),
                    "position": text.plain(found["position"], text.LINE) if found["position"] else None}
    return jsonify(counter_id=counter_id, official=official,
                   since=found["since"].isoformat(timespec="seconds") if found else None)


@bp.route("/kpis")
def kpis():
    """The metrics.md object of a unit or official, in the signed-in user's scope."""
    from dashboard.api import kpis as kpis_v0
    return kpis_v0()


@bp.route("/openapi.json")
def openapi():
    from dashboard.api.openapi import describe
    return jsonify(describe())


def init_app(server: Flask) -> None:
    server.register_blueprint(bp)
