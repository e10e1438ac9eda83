"""Behind the TLS proxy the README recommends, every user arrives from the proxy's address. With
TRUSTED_PROXY=127.0.0.1 (the proxy on this host) the server takes the client's address from the proxy's X-Forwarded-For, so the
login throttle slows one attacking client without locking out everyone behind the proxy, and the
audit log names the real client. Without it, the header is ignored: a client cannot pick an
address to dodge the throttle."""
from __future__ import annotations

import shutil

import duckdb
import requests

from conftest import csrf_from, start_server, stop_server


def attempt(base: str, username: str, password: str, client: str) -> int:
    s = requests.Session()
    token = csrf_from(s.get(base + "/login", headers={"X-Forwarded-For": client}).text)
    r = s.post(base + "/login", data={"csrf_token": token, "username": username, "password": password, "next": "/"},
               headers={"X-Forwarded-For": client}, allow_redirects=False)
    return r.status_code


def failures_until_throttled(base: str, username: str, client: str, limit: int = 30) -> int:
    for n in range(1, limit + 1):
        if attempt(base, username, "wrong-password-1", client) == 429:
            return n
    return limit + 1


def clients_in_audit(db) -> set:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return {c for (c,) in conn.execute("SELECT DISTINCT client FROM audit_log WHERE client IS NOT NULL").fetchall()}
    finally:
        conn.close()


def test_the_proxy_s_forwarded_address_is_the_client_only_when_trusted(demo, tmp_path):
    admin = demo.logins["admin"]
    for trusted in (1, 0):
        db = tmp_path / f"proxy{trusted}.duckdb"
        shutil.copy(demo.copies["kpis"], db)
        server = start_server(db, tmp_path / f"server{trusted}.log",
                              env={"THUOCDO_TRUSTED_PROXY": "127.0.0.1" if trusted else "", "THUOCDO_LOGIN_MAX_FAILURES": "2"})
        try:
            base = server.base_url
            # one client guesses at many names until its address is throttled (4 × 2 failures)
            for i in range(10):
                attempt(base, f"guess{i}", "wrong-password-1", "203.0.113.7")
            if trusted:
                assert attempt(base, "guess0", "wrong-password-1", "203.0.113.7") == 429
                # the owner, behind the same proxy but from another client, still signs in
                assert attempt(base, admin.username, admin.password, "198.51.100.20") == 302
            else:
                # the header is ignored: changing it does not reset the throttle
                assert attempt(base, "guess0", "wrong-password-1", "198.51.100.99") == 429
        finally:
            stop_server(server)
        seen = clients_in_audit(db)
        if trusted:
            assert {"203.0.113.7", "198.51.100.20"} <= seen
        else:
            assert seen == {"127.0.0.1"}
