"""Hostile requests (issue 12): URL parameters cannot change what a page is or who may see it,
malformed periods and ids get a 4xx or the not-found note, and forged callback bodies, built
from the app's own callback graph, never get a 500 or a traceback."""
from __future__ import annotations

import itertools
import json
import logging
from urllib.parse import quote

import pytest
import requests

from conftest import callback_payload, http_login, post_callback, run_dashboard
from dashboard import payloads, tokens, users
from dashboard.errors import DashboardError

NOT_FOUND = "Trang này không tồn tại hoặc nằm ngoài phạm vi bạn được xem."
ROUTER = [("_pages_content", "children"), ("_pages_store", "data")]
PAGES = ["/", "/unit/{dept}", "/official/{official}", "/okr", "/alerts", "/explore", "/data", "/no-such-page"]
# `$` matches before a final newline and `\d` matches any Unicode digit: each got past the check.
BAD_PERIODS = ["{period}\n", "٢٠٢٦-10", "２０２６-10", "۲۰۲۶-10", "٢٠٢٦-١٠", "２０２６-１０", "2026-١٠", "{period} ",
               "\n{period}"]
BAD_IDS = ["{dept}\n", "{dept}\r\n", "{dept}\x00", "ＨＮ", "{dept}/../x", "x" * 65, ""]


def _route(path: str, search: str) -> dict:
    return callback_payload(ROUTER, [("_pages_location", "pathname", path), ("_pages_location", "search", search)])


def _text(r) -> str:
    """The JSON answer as text, from requests or from the Flask test client."""
    raw = r.text if isinstance(r, requests.Response) else r.get_data(as_text=True)
    assert r.status_code == 200, (r.status_code, raw[:300])
    return json.dumps(json.loads(raw), ensure_ascii=False)


def _pages(demo) -> list[str]:
    return [p.format(dept=demo.dept, official=demo.official) for p in PAGES]


# --- 1. query parameters are not keyword arguments of the guard --------------------------------

@pytest.mark.parametrize("who", ["admin", "leader", "official"])
def test_a_query_parameter_cannot_replace_a_pages_body(server, demo, who):
    s = http_login(server.base_url, demo.logins[who])
    for path in _pages(demo):
        body = _text(post_callback(s, server.base_url, _route(path, "?_layout=PHISHING+TEXT&_path=x&layout=y")))
        assert "PHISHING" not in body, (who, path)


def test_a_query_parameter_cannot_pass_the_role_guard(app, client, auth, demo, caplog):
    """`?_roles=<own role>` passed the guard; it must still refuse the page as for any other URL."""
    auth.login(demo.logins["official"])
    for path in ("/alerts", "/okr", "/explore", "/data", f"/unit/{demo.dept}"):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="thuocdo.scope"):
            r = auth.callback(_route(path, "?_roles=official&_roles=official&roles=official"))
            r2 = auth.callback(_route(path, "?_roles=official"))
        assert NOT_FOUND in _text(r) and NOT_FOUND in _text(r2), path
        assert sum("denied page=" in m for m in caplog.messages) == 2, (path, caplog.messages)


def test_a_layout_takes_only_the_parameters_it_declares(server, demo):
    admin = http_login(server.base_url, demo.logins["admin"])
    # The path names the unit; a query parameter of the same name does not replace it.
    body = _text(post_callback(admin, server.base_url, _route(f"/unit/{demo.dept}", f"?unit={demo.other_dept}")))
    assert f'"unit": "{demo.dept}"' in body and f'"unit": "{demo.other_dept}"' not in body
    # A repeated parameter is ambiguous: it counts as absent (the default period), never a 500.
    body = _text(post_callback(admin, server.base_url, _route("/", f"?period={demo.period}&period=2020-01")))
    assert NOT_FOUND not in body and "uv-tiles" in body


# --- 2. malformed periods and ids --------------------------------------------------------------

@pytest.mark.parametrize("raw", BAD_PERIODS)
def test_a_malformed_period_gets_400_or_the_not_found_note(server, demo, raw):
    bad = raw.format(period=demo.period)
    base = server.base_url
    admin = http_login(base, demo.logins["admin"])
    leader = http_login(base, demo.logins["leader"])
    for s, unit in ((admin, demo.root), (leader, demo.dept)):
        for api in ("/api/v1/kpis", "/api/kpis"):
            r = s.get(f"{base}{api}?unit={unit}&period={quote(bad)}")
            assert r.status_code == 400, (api, r.status_code, r.text[:200])
        r = s.get(f"{base}/api/v1/kpis?official={demo.official}&period={quote(bad)}")
        assert r.status_code in (400, 404), r.status_code
        # Every page, opened with that period in its URL, then its panels as the page would ask.
        for path in _pages(demo):
            assert s.get(f"{base}{path}?period={quote(bad)}").status_code in (200, 404)
            body = _text(post_callback(s, base, _route(path, f"?period={quote(bad)}&end={quote(bad)}")))
            assert json.dumps(bad, ensure_ascii=False)[1:-1] not in body, path  # as it would appear, escaped
        panels = [
            callback_payload([("uv-tiles", "children")],
                             [("page-args", "data", {"unit": unit, "period": bad}), ("data-version", "data", 1)]),
            callback_payload([("ov-tiles", "children")],
                             [("page-args", "data", {"official": demo.official, "period": bad}),
                              ("data-version", "data", 1)]),
        ]
        for payload in panels:
            assert NOT_FOUND in _text(post_callback(s, base, payload))
    # The export: no file, and no newline in a file name.
    for kind in ("explore-csv", "explore-xlsx"):
        r = post_callback(admin, base, _download(kind, bad, demo.period))
        body = _text(r)
        assert NOT_FOUND in body and "filename" not in body, body[:300]
    ok = _text(post_callback(admin, base, _download("explore-csv", demo.period, demo.period)))
    assert f'"filename": "thuocdo_on_time_rate_units_{demo.period}_{demo.period}.csv"' in ok


def _download(trigger: str, start: str, end: str) -> dict:
    payload = callback_payload(
        [("explore-download", "data"), ("explore-message", "children")],
        [("explore-csv", "n_clicks", 1 if trigger == "explore-csv" else None),
         ("explore-xlsx", "n_clicks", 1 if trigger == "explore-xlsx" else None)],
        [("explore-kpi", "value", "on_time_rate"), ("explore-group", "value", "units"),
         ("explore-start", "value", start), ("explore-end", "value", end), ("explore-units", "value", []),
         ("explore-table", "sort_by", [])])
    payload["changedPropIds"] = [f"{trigger}.n_clicks"]
    return payload


@pytest.mark.parametrize("raw", BAD_IDS)
def test_a_malformed_id_gets_4xx_or_the_not_found_note(server, demo, raw):
    bad = raw.format(dept=demo.dept)
    base = server.base_url
    admin = http_login(base, demo.logins["admin"])
    for api in ("/api/v1/kpis", "/api/kpis"):
        for key in ("unit", "official"):
            r = admin.get(f"{base}{api}?{key}={quote(bad)}&period={demo.period}")
            assert 400 <= r.status_code < 500, (api, key, r.status_code)
    for path in (f"/unit/{quote(bad)}", f"/official/{quote(bad)}"):
        assert admin.get(base + path).status_code in (200, 404)
        assert NOT_FOUND in _text(post_callback(admin, base, _route(path, "")))
    tiles = callback_payload([("uv-tiles", "children")],
                             [("page-args", "data", {"unit": bad, "period": demo.period}), ("data-version", "data", 1)])
    assert NOT_FOUND in _text(post_callback(admin, base, tiles))
    r = admin.get(f"{base}/api/data-version?unit={quote(bad)}")
    assert r.status_code < 500


@pytest.mark.parametrize("name", ["admin\n", "a" * 64 + "\n", "ａｄｍｉｎ"])
def test_usernames_and_token_ids_are_checked_whole(name):
    with pytest.raises(DashboardError):
        users._check_name(name)
    with pytest.raises(DashboardError):
        tokens._check_id(name.replace("@", ""), "device", "--name")


@pytest.mark.parametrize("period", ["٢٠٢٦-10", "２０２６-10", "2026-10\n"])
def test_the_kpis_cli_refuses_a_malformed_period(demo, period):
    proc = run_dashboard("kpis", "--db", demo.copies["kpis"], "--unit", demo.root, "--period", period)
    assert proc.returncode == 2 and "is not a month" in proc.stderr, proc.stderr[-500:]


# --- 3. forged callback bodies, from the app's own callback graph ------------------------------

WRONG_TYPES = {"a list": [1, "x"], "a string": "x", "a number": 7, "null": None, "a dict": {"a": 1}}


def _server_callbacks(app, client) -> dict:
    client.get("/login")  # Dash registers the pages router at the first request
    callbacks = {k: v for k, v in app.callback_map.items() if "callback" in v}
    assert len(callbacks) >= 20, sorted(callbacks)
    return callbacks


def _id_str(component_id) -> str:
    return payloads._id_str(component_id)


def _plausible(cid: str, prop: str, demo):
    """A value the page itself would send for this input."""
    by_id = {"period-picker": demo.period, "okr-unit": demo.dept, "alerts-unit": demo.dept,
             "explore-kpi": "on_time_rate", "explore-group": "units", "explore-start": demo.period,
             "explore-end": demo.period, "explore-units": [demo.dept], "page-args": {
                 "unit": demo.dept, "official": demo.official, "period": demo.period},
             "data-version": 1, "_pages_store": {"title": "x"}}
    by_prop = {"n_clicks": 1, "n_intervals": 1, "page_current": 0, "sort_by": [], "pathname": "/",
               "search": f"?period={demo.period}", "clickData": {"points": [{"id": demo.dept}]}}
    return by_id.get(cid, by_prop.get(prop))


def _entry(spec: dict, demo):
    """One input or state as the renderer sends it; a pattern-matching ALL input as a list."""
    cid, prop = spec["id"], spec["property"]
    if cid.startswith("{"):
        pattern = json.loads(cid)
        concrete = {k: ("KR-1" if isinstance(v, list) else v) for k, v in pattern.items()}
        return [{"id": concrete, "property": prop, "value": _plausible(cid, prop, demo)}]
    return {"id": cid, "property": prop, "value": _plausible(cid, prop, demo)}


def _body(key: str, cb: dict, demo) -> dict:
    # As the renderer sends them: split from the callback's key, so a duplicate output keeps
    # its "@hash" (`href@1a3e…`).
    outputs = [dict(zip(("id", "property"), o.rsplit(".", 1)))
               for o in (key[2:-2].split("...") if key.startswith("..") else [key])]
    inputs = [_entry(s, demo) for s in cb["inputs"]]
    first = inputs[0][0] if isinstance(inputs[0], list) else inputs[0]
    return {"output": key, "outputs": outputs if key.startswith("..") else outputs[0], "inputs": inputs,
            "state": [_entry(s, demo) for s in cb["state"]],
            "changedPropIds": [f"{_id_str(first['id'])}.{first['property']}"]}


def _variants(key: str, cb: dict, demo):
    """(what, body): each input and state given each wrong type, hostile values of the right
    type, and broken bodies."""
    base = _body(key, cb, demo)
    for part in ("inputs", "state"):
        for n, entry in enumerate(base[part]):
            name = (entry[0] if isinstance(entry, list) else entry)["id"]
            hostile = dict(WRONG_TYPES)
            if isinstance(entry, list):  # a pattern-matching input: its entries and their ids
                hostile_entries = {"an entry with a list id": [{**entry[0], "id": {**entry[0]["id"], "kr": ["x"]}}],
                                   "an entry with a dict id": [{**entry[0], "id": {**entry[0]["id"], "kr": {"a": 1}}}],
                                   "a string entry": ["x"], "no entries": []}
                for what, value in itertools.chain(((w, [{**entry[0], "value": v}]) for w, v in WRONG_TYPES.items()),
                                                   hostile_entries.items()):
                    body = json.loads(json.dumps(base))
                    body[part][n] = value
                    yield f"{part}[{n}] {name}: {what}", body
                for what, value in WRONG_TYPES.items():
                    body = json.loads(json.dumps(base))
                    body[part][n] = value
                    yield f"{part}[{n}] {name}: the whole input as {what}", body
                continue
            if name == "page-args":
                hostile.update({f"page-args {k} as {w}": {**entry["value"], k: v}
                                for k in ("unit", "official", "period", "prefilled")
                                for w, v in {**WRONG_TYPES, "a bad period": "2026-10\n", "nesting": [[1]]}.items()})
            if entry["property"] in ("page_current", "n_clicks"):
                hostile.update({"x": "x", "-1": -1, "huge": 10 ** 30, "a float": 1.5, "true": True})
            if entry["property"] == "sort_by":
                hostile.update({"bad sort": [{"column_id": 5, "direction": "x"}], "empty sort": [{}],
                                "unknown column": [{"column_id": "'; DROP TABLE units; --", "direction": "asc"}]})
            if entry["property"] == "clickData":
                hostile.update({"no points": {"points": "x"}, "a list id": {"points": [{"id": ["x"]}]}})
            if entry["property"] in ("pathname", "search"):
                hostile.update({"junk path": "//evil.example/%0A?_layout=x", "junk query": "?&&=&period=%ff%fe"})
            for what, value in hostile.items():
                body = json.loads(json.dumps(base))
                body[part][n]["value"] = value
                yield f"{part}[{n}] {name}.{entry['property']}: {what}", body
            body = json.loads(json.dumps(base))
            body[part][n] = {"id": "no-such-component", "property": entry["property"], "value": None}
            yield f"{part}[{n}]: another component", body
    broken = {
        "unknown output": {**base, "output": "no-such.children"},
        "outputs of another callback": {**base, "outputs": {"id": "nope", "property": "children"}},
        "outputs missing": {k: v for k, v in base.items() if k != "outputs"},
        "outputs as a string": {**base, "outputs": "x"},
        "output as a list": {**base, "output": [key]},
        "inputs missing": {k: v for k, v in base.items() if k != "inputs"},
        "inputs as a dict": {**base, "inputs": {"a": 1}},
        "an input short": {**base, "inputs": base["inputs"][:-1]},
        "an input too many": {**base, "inputs": base["inputs"] + [base["inputs"][-1]]},
        "inputs of null": {**base, "inputs": [None] * len(base["inputs"])},
        "state as a string": {**base, "state": "x"},
        "changedPropIds unknown": {**base, "changedPropIds": ["{not json.n_clicks"]},
        "changedPropIds a string": {**base, "changedPropIds": "x"},
        "changedPropIds of a list": {**base, "changedPropIds": [["x"]]},
    }
    yield from broken.items()


def _post(auth, body, raw: bytes | None = None):
    token = auth.client.get_cookie("_csrf_token")
    return auth.client.post("/_dash-update-component", data=raw if raw is not None else json.dumps(body),
                            content_type="application/json", headers={"X-CSRFToken": token.value if token else ""})


def test_every_callback_input_has_a_declared_type(app, client):
    """A new callback must say what its inputs hold (payloads.VALUE_TYPES) the day it is added."""
    missing = {(s["id"], s["property"]) for cb in _server_callbacks(app, client).values()
               for s in cb["inputs"] + cb["state"] if payloads.value_check(s["id"], s["property"]) is None}
    assert not missing, f"add these to dashboard/payloads.py VALUE_TYPES: {sorted(missing)}"


@pytest.mark.parametrize("who", ["admin", "leader"])
def test_forged_callback_bodies_never_fail_the_server(app, client, auth, demo, who):
    callbacks = _server_callbacks(app, client)
    assert auth.login(demo.logins[who]).status_code == 302
    failures, tried = [], 0
    for key, cb in callbacks.items():
        plain = _post(auth, _body(key, cb, demo))  # the page's own request still works
        if plain.status_code not in (200, 204):
            failures.append(f"{key} / a well-formed body: {plain.status_code} {plain.get_data(as_text=True)[:120]}")
        for what, body in _variants(key, cb, demo):
            r = _post(auth, body)
            tried += 1
            text = r.get_data(as_text=True)
            if r.status_code >= 500 or "Traceback" in text:
                failures.append(f"{key} / {what}: {r.status_code} {text[:120]}")
    for what, raw in {"a null body": b"null", "a list body": b"[]", "a string body": b'"x"', "a number": b"7",
                      "not JSON": b"{", "deep nesting": b"[" * 100_000 + b"]" * 100_000, "empty": b""}.items():
        r = _post(auth, None, raw)
        tried += 1
        if r.status_code >= 500 or "Traceback" in r.get_data(as_text=True):
            failures.append(f"{what}: {r.status_code}")
    assert tried > 400
    assert not failures, f"{len(failures)} of {tried} forged bodies failed:\n" + "\n".join(failures[:40])


@pytest.mark.parametrize("error, status", [(TypeError, 400), (ValueError, 400), (KeyError, 400), (RuntimeError, 500)])
def test_what_a_value_still_breaks_in_a_callback_answers_400_without_a_traceback(app, client, auth, demo,
                                                                               monkeypatch, error, status):
    """The net behind the checks, for a callback whose inputs pass but whose code trips on them;
    any other exception (a bug, the database) stays a 500, still without a traceback."""
    key = "uv-tiles.children"
    cb = _server_callbacks(app, client)[key]

    def trips(*_args, **_kwargs):
        raise error("tripped on a forged value")

    monkeypatch.setitem(cb, "callback", trips)
    app.server.config["PROPAGATE_EXCEPTIONS"] = False  # answer as in production, not re-raise to the test
    try:
        auth.login(demo.logins["admin"])
        r = _post(auth, _body(key, cb, demo))
    finally:
        app.server.config["PROPAGATE_EXCEPTIONS"] = None
    assert r.status_code == status
    assert "Traceback" not in r.get_data(as_text=True) and "tripped" not in r.get_data(as_text=True)
