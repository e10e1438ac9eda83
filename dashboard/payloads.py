"""What a `/_dash-update-component` body must be before Dash runs it: a forged or malformed
body answers 400 (and is logged as denied), never an exception inside Dash or a callback.

Nothing here names a callback: the check reads the app's own callback graph
(`app.callback_map`), so a callback is covered the day it is added.
- `problem(body, callback_map)`: the body names a server-side callback; its inputs, state and
  outputs carry that callback's ids and properties in order; `changedPropIds` are among its
  inputs; and every value has the type its property holds (VALUE_TYPES). Dash itself trusts
  all of this and raised (500) on a null body, an unknown output or a list for `page-args`.
- a net around the Dash route: what a well-typed value still breaks inside a callback (a
  TypeError, ValueError, … from forged content) answers 400 too; the traceback goes to the
  log only.
"""
from __future__ import annotations

import json
import logging
from functools import wraps

from dash.exceptions import InvalidCallbackReturnValue, UnsupportedRelativePath
from flask import jsonify, request

from dashboard import scope

log = logging.getLogger("thuocdo.payloads")
DISPATCH = "/_dash-update-component"  # Dash's endpoint name for the callback route
MAX_ITEMS = 1000  # entries of one pattern-matching (ALL) input; the app renders far fewer
# Exceptions a forged value can cause inside Dash or a callback; anything else (the database,
# a bug on a valid request) stays a 500, without a traceback outside debug mode.
MALFORMED = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, RecursionError,
             InvalidCallbackReturnValue, UnsupportedRelativePath)


# --- value types, by property (an (id, property) pair overrides) -----------------------------

def _count(v) -> bool:  # clicks, intervals, a table's page: JSON-safe integers (not bools)
    return v is None or (type(v) is int and abs(v) <= 2 ** 53)


def _text(v) -> bool:
    return v is None or isinstance(v, str)


def _value(v) -> bool:  # a dropdown: one value, or several (multi)
    return _text(v) or (isinstance(v, list) and len(v) <= MAX_ITEMS and all(isinstance(x, str) for x in v))


def _path(v) -> bool:  # a location's path: always there, absolute (Dash's router raised on any other)
    return isinstance(v, str) and v.startswith("/")


def _object(v) -> bool:
    return v is None or isinstance(v, dict)


def _objects(v) -> bool:
    return v is None or (isinstance(v, list) and len(v) <= MAX_ITEMS and all(isinstance(x, dict) for x in v))


def _page_args(v) -> bool:  # the page's target: ids and period as text, versions as ints, name lists
    return v is None or (isinstance(v, dict) and all(
        _count(x) or _value(x) for x in v.values()))


def _anything(_v) -> bool:  # component children and ids: never read as data by our callbacks
    return True


VALUE_TYPES = {
    "n_clicks": _count, "n_intervals": _count, "page_current": _count,
    "active_page": _count,  # dbc.Pagination (the OKR page's pager)
    "value": _value, "sort_by": _objects, "clickData": _object,
    "pathname": _path, "search": _text, "href": _text,
    "children": _anything, "id": _anything,
    ("page-args", "data"): _page_args, ("data-version", "data"): _count, ("_pages_store", "data"): _object,
}


def value_check(component_id: str, prop: str):
    """The type check for an input or state, or None when neither the pair nor the property is listed
    (tests/test_hostile_requests.py insists every callback's inputs are listed)."""
    return VALUE_TYPES.get((component_id, prop)) or VALUE_TYPES.get(prop)


# --- the body's shape against the callback it names ------------------------------------------

def _wildcard(v) -> bool:
    return isinstance(v, list) and len(v) == 1 and v[0] in ("ALL", "MATCH", "ALLSMALLER")


def _id_str(component_id) -> str:
    """As Dash names a prop (`stringify_id`): dict ids as sorted compact JSON."""
    if isinstance(component_id, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(component_id[k])}" for k in sorted(component_id)) + "}"
    return component_id


def _matches(item, declared_id: str, prop: str) -> bool:
    """One {id, property, value} entry for a declared (id, property); pattern ids by their keys."""
    if not isinstance(item, dict) or item.get("property") != prop:
        return False
    if not declared_id.startswith("{"):
        return item.get("id") == declared_id
    pattern, got = json.loads(declared_id), item.get("id")
    return isinstance(got, dict) and got.keys() == pattern.keys() and all(
        (isinstance(got[k], (str, int, float)) and not isinstance(got[k], bool)) if _wildcard(p) else got[k] == p
        for k, p in pattern.items())


def _entries(given, declared: list[dict], what: str) -> tuple[list[dict], str | None]:
    """The flat entries of `inputs` or `state`, or a reason they do not fit the declaration."""
    if not isinstance(given, list) or len(given) != len(declared):
        return [], f"{what}: not the callback's {len(declared)} entries"
    flat = []
    for item, spec in zip(given, declared):
        cid, prop = spec["id"], spec["property"]
        many = cid.startswith("{") and any(v in (["ALL"], ["ALLSMALLER"]) for v in json.loads(cid).values())
        items = item if many else [item]
        if many and (not isinstance(item, list) or len(item) > MAX_ITEMS):
            return [], f"{what}: {cid}.{prop} is not a list of entries"
        for entry in items:
            if not _matches(entry, cid, prop):
                return [], f"{what}: an entry is not {cid}.{prop}"
            check = value_check(cid, prop)
            if check and not check(entry.get("value")):
                return [], f"{what}: {cid}.{prop} has a value of the wrong type"
            flat.append(entry)
    return flat, None


def _outputs_fit(given, key: str, declared) -> bool:
    outs = declared if isinstance(declared, (list, tuple)) else [declared]
    if key.startswith(".."):  # several outputs: a list, in the declared order
        if not isinstance(given, list) or len(given) != len(outs):
            return False
    else:
        given = [given]
    for item, out in zip(given, outs):
        cid = out.component_id_str()
        prop = item.get("property") if isinstance(item, dict) else None
        # A duplicate output (allow_duplicate) is sent as "href@<hash of its inputs>".
        if not isinstance(prop, str) or prop.split("@")[0] != out.component_property:
            return False
        if not cid.startswith("{") and item.get("id") != cid:
            return False
    return True


def problem(body, callback_map: dict) -> str | None:
    """Why `body` is not a request this app's callback graph can make, or None when it is."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    key = body.get("output")
    cb = callback_map.get(key) if isinstance(key, str) else None
    if cb is None or "callback" not in cb:  # unknown, or a clientside callback
        return "no such server-side callback"
    inputs, why = _entries(body.get("inputs"), cb["inputs"], "inputs")
    if why:
        return why
    _state, why = _entries(body.get("state", []), cb["state"], "state")
    if why:
        return why
    if not cb.get("no_output") and not _outputs_fit(body.get("outputs"), key, cb["output"]):
        return "outputs: not the callback's outputs"
    changed = body.get("changedPropIds", [])
    props = {f"{_id_str(i['id'])}.{i['property']}" for i in inputs}
    if not isinstance(changed, list) or not all(isinstance(c, str) and c in props for c in changed):
        return "changedPropIds: not among the inputs"
    return None


def _refuse(reason: str):
    scope.denied("callback", reason)
    return jsonify(error="malformed callback request; reload the page"), 400


def init_app(app) -> None:
    """Put the check and the net around Dash's callback route (after the sign-in gate has run)."""
    server = app.server
    dispatch = server.view_functions[DISPATCH]

    @wraps(dispatch)
    def checked(*args, **kwargs):
        try:
            body = request.get_json()  # not JSON at all: Flask's own 400/415
        except RecursionError:  # nesting deeper than the parser's stack
            return _refuse("the body nests too deeply")
        why = problem(body, app.callback_map)
        if why:
            return _refuse(why)
        try:
            return dispatch(*args, **kwargs)
        except MALFORMED as exc:
            log.warning("callback %r failed on its input", body.get("output"), exc_info=exc)
            return _refuse(f"{type(exc).__name__} inside the callback")

    server.view_functions[DISPATCH] = checked
