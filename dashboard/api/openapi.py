"""The OpenAPI 3.1 description of /api/v1, kept beside the routes (a test holds the two equal)."""
from __future__ import annotations

from etl.kinds import KINDS

_RESULT = {
    "type": "object",
    "properties": {
        "id": {"type": ["string", "integer", "null"], "description": "the record's key (rating_id, task_id, event_id)"},
        "result": {"type": "string", "description": "loaded | duplicate | stale | forbidden | a quarantine reason "
                                                    "(bad_date, unknown_official, conflict, bad_text, text_too_long, …; "
                                                    "docs/data-contract.md)"},
        "status": {"type": "integer", "description": "201 loaded, 200 duplicate or stale, 403 forbidden, 409 conflict, "
                                                    "422 other reasons"},
        "detail": {"type": ["string", "null"]},
    },
    "required": ["id", "result", "status"],
}
_BATCH_ANSWER = {
    "type": "object",
    "properties": {
        "batch_id": {"type": ["integer", "null"], "description": "the ingest ledger's batch (python -m etl status)"},
        "results": {"type": "array", "items": _RESULT, "description": "one per record, in the order sent"},
        "loaded": {"type": "integer"}, "duplicates": {"type": "integer"},
        "quarantined": {"type": "integer"}, "refused": {"type": "integer"},
    },
    "required": ["batch_id", "results", "loaded", "duplicates", "quarantined", "refused"],
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
_DEVICE = [{"deviceToken": []}]


def _record_schema(kind: str) -> dict:
    k = KINDS[kind]
    return {"type": "object", "description": f"a `{kind}` record of docs/data-contract.md",
            "properties": {c.name: {"type": ["string", "number", "boolean", "null"]} for c in k.columns},
            "required": [c.name for c in k.columns if c.required]}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _post(kind: str) -> dict:
    return {
        "summary": f"Load {kind} records (acknowledged after the commit; idempotent by record id)",
        "security": _DEVICE,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "array", "items": _record_schema(kind), "minItems": 1}}}},
        "responses": {
            "200": _json(_BATCH_ANSWER, "every record loaded or already there"),
            "207": _json(_BATCH_ANSWER, "some records quarantined or refused; see each result"),
            "422": _json(_BATCH_ANSWER, "no record accepted"),
            "400": _json(_ERROR, "not a JSON array of records"),
            "401": _json(_ERROR, "no valid device token"),
            "403": _json(_ERROR, "this device may not post this kind"),
            "413": _json(_ERROR, "too many records or bytes (API_MAX_RECORDS, API_MAX_BYTES)"),
            "503": _json(_ERROR, "the writer is busy; retry (a retry never counts a record twice)"),
        },
    }


def describe() -> dict:
    duty = {"type": "object", "properties": {
        "counter_id": {"type": "string"},
        "official": {"type": ["object", "null"], "properties": {
            "official_id": {"type": "string"}, "full_name": {"type": "string"}, "position": {"type": ["string", "null"]}}},
        "since": {"type": ["string", "null"], "format": "date-time"}}}
    paths = {f"/api/v1/{kind}": {"post": _post(kind)} for kind in ("ratings", "tasks", "evaluations")}
    paths["/api/v1/device"] = {"get": {
        "summary": "The device this token belongs to", "security": _DEVICE,
        "responses": {"200": _json({"type": "object", "properties": {
            "name": {"type": "string"}, "counter_id": {"type": ["string", "null"]}, "build": {"type": "string"}}},
            "the device"), "401": _json(_ERROR, "no valid device token")}}}
    paths["/api/v1/device/heartbeat"] = {"post": {
        "summary": "A device's heartbeat (every 30 s)", "security": _DEVICE,
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
            "build": {"type": "string"}, "screen": {"type": "string"}, "queued": {"type": "integer"},
            "ignored_repeats": {"type": "integer"}}}}}},
        "responses": {"204": {"description": "recorded"}, "401": _json(_ERROR, "no valid device token")}}}
    paths["/api/v1/counters/{counter_id}/duty"] = {
        "parameters": [{"name": "counter_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": {"summary": "Who is on duty at a counter", "security": _DEVICE,
                "responses": {"200": _json(duty, "the duty"), "401": _json(_ERROR, "no valid device token"),
                              "403": _json(_ERROR, "another counter's device")}},
        "post": {"summary": "Set who is on duty (system tokens: the queue system)", "security": _DEVICE,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "properties": {"official_id": {"type": "string"}}, "required": ["official_id"]}}}},
                 "responses": {"200": _json(duty, "the new duty"), "400": _json(_ERROR, "no official_id"),
                               "403": _json(_ERROR, "not a system token"),
                               "422": _json(_ERROR, "unknown or inactive official")}},
    }
    paths["/api/v1/kpis"] = {"get": {
        "summary": "A unit's or official's KPIs (docs/metrics.md), in the signed-in user's scope",
        "security": [{"session": []}],
        "parameters": [
            {"name": "unit", "in": "query", "schema": {"type": "string"}},
            {"name": "official", "in": "query", "schema": {"type": "string"}},
            {"name": "period", "in": "query", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}},
            {"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"}}],
        "responses": {"200": _json({"type": "object"}, "the kpis object of docs/metrics.md"),
                      "400": _json(_ERROR, "bad parameters"), "401": _json(_ERROR, "not signed in"),
                      "404": _json(_ERROR, "no such unit or official in your scope")}}}
    paths["/api/v1/openapi.json"] = {"get": {
        "summary": "This description", "security": [{"session": []}],
        "responses": {"200": {"description": "OpenAPI 3.1"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Thước đo API", "version": "1",
                 "description": "Ingestion from counter devices and source systems, and the KPI read. "
                                "Records follow docs/data-contract.md."},
        "paths": paths,
        "components": {"securitySchemes": {
            "deviceToken": {"type": "http", "scheme": "bearer",
                            "description": "a device token from `python -m dashboard devices add`"},
            "session": {"type": "apiKey", "in": "cookie", "name": "thuocdo_session",
                        "description": "a signed-in user's session"}}},
    }
