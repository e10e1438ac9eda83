"""GET /api/kpis returns the CLI's object, within the signed-in user's scope only."""
from __future__ import annotations

import pytest

from conftest import kpis_cli


def _get(client, **params):
    return client.get("/api/kpis", query_string=params)


def test_requires_a_session(client):
    assert _get(client, unit="HN", period="2026-10").status_code in (302, 401)


def test_same_object_as_the_cli(client, auth, demo):
    auth.login(demo.logins["admin"])
    for args in ((("unit", demo.root),), (("unit", demo.dept),), (("official", demo.official),)):
        params = dict(args, period=demo.period, as_of="2026-10-20")
        got = _get(client, **params)
        assert got.status_code == 200, got.get_data(as_text=True)
        flag, value = args[0]
        expect = kpis_cli(demo.copies["kpis"], f"--{flag}", value, "--period", demo.period, "--as-of", "2026-10-20")
        assert got.get_json() == expect


def test_leader_scope_is_enforced(client, auth, demo):
    auth.login(demo.logins["leader"])
    assert _get(client, unit=demo.dept, period=demo.period).status_code == 200
    outside = _get(client, unit=demo.other_dept, period=demo.period)
    unknown = _get(client, unit="NO-SUCH-UNIT", period=demo.period)
    assert outside.status_code == unknown.status_code == 404
    assert outside.get_json() == unknown.get_json()      # out of scope looks like unknown
    assert _get(client, official=demo.other_official, period=demo.period).status_code == 404
    assert _get(client, unit=demo.root, period=demo.period).status_code == 404


def test_official_sees_only_themselves(client, auth, demo):
    auth.login(demo.logins["official"])
    assert _get(client, official=demo.official, period=demo.period).status_code == 200
    assert _get(client, official=demo.other_official, period=demo.period).status_code == 404
    assert _get(client, unit=demo.dept, period=demo.period).status_code == 404


@pytest.mark.parametrize("params", [
    {"period": "2026-10"},                                   # neither unit nor official
    {"unit": "HN", "official": "X", "period": "2026-10"},   # both
    {"unit": "HN", "period": "10/2026"},
    {"unit": "HN", "period": "2026-10", "as_of": "20/10/2026"},
])
def test_bad_parameters_are_400(client, auth, demo, params):
    auth.login(demo.logins["admin"])
    assert _get(client, **params).status_code == 400
