"""E-mail digests through a real SMTP server on loopback (aiosmtpd): what arrives is parsed
(subject, scope, links, the report attached on the first working day), nothing is sent when
nothing is new, a failure is retried with backoff and logged; the CLI, the settings page and the
admins' panel. The clock is injected (`now`), never waited for."""
from __future__ import annotations

import datetime as dt
import email
import re
import shutil
from email import policy

import duckdb
import pytest
from aiosmtpd.controller import Controller

from conftest import ARTIFACTS, browser_login, free_port, run_dashboard, screenshot, settled

BASE = "https://thuocdo.example"
MONDAY_FIRST = dt.datetime(2026, 11, 2, 7, 30)   # the first working day of November 2026
TUESDAY = dt.datetime(2026, 11, 3, 7, 30)        # two days before the evaluation deadline (5th)


class Inbox:
    """aiosmtpd handler: keeps every message; refuses the next `fail` DATA commands with `code`."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.fail, self.code = 0, "451 4.3.0 try again later"
        self.tries = 0

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        if self.fail:
            self.fail -= 1
            return self.code
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def db(demo, tmp_path):
    """A copy of the demo database (taken before the server opened it), with the demo logins."""
    path = tmp_path / "digests.duckdb"
    shutil.copy(demo.copies["kpis"], path)
    from etl.db import connect
    conn = connect(path)
    yield conn.cursor()
    conn.close()


def checked_settings(port: int, **extra):
    from dashboard import settings
    return settings.load({"DEMO": True, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_TLS": "none",
                          "PUBLIC_BASE_URL": BASE, "DIGEST_RETRY_SECONDS": 0, **extra}, environ={})


def _links(msg) -> list[str]:
    """The items' links (the footer's /settings aside)."""
    return [p for p in re.findall(re.escape(BASE) + r"(/[^\s\"<]+)", msg.get_body(("plain",)).get_content())
            if p != "/settings"]


def _in_scope(cur, root: str, path: str) -> bool:
    """Whether a linked unit or official lies in `root`'s subtree."""
    kind, ident = re.match(r"/(unit|official|alerts)(?:/([^?]+))?", path).groups()
    if kind == "alerts":
        ident = re.search(r"unit=([^&]+)", path).group(1)
    if kind == "official":
        ident = cur.execute("SELECT unit_id FROM officials WHERE official_id = ?", [ident]).fetchone()[0]
    return cur.execute("SELECT count(*) FROM unit_closure WHERE ancestor = ? AND descendant = ?",
                       [root, ident]).fetchone()[0] == 1


def test_digest_scope_links_report_nothing_new_and_retries(demo, db, smtp):
    from dashboard.digests import run, store
    inbox, port = smtp
    inbox.messages.clear()
    checked = checked_settings(port)
    leader, city = demo.logins["leader"], demo.logins["city"]
    store.subscribe(db, leader.username, "lanhdao.so@example.vn", "daily", "test")
    store.subscribe(db, city.username, "lanhdao.tp@example.vn", "weekly", "test")

    assert run.run(db, checked, MONDAY_FIRST.replace(hour=6)) == [], "nothing goes out before DIGEST_HOUR"

    # The first working day: both get the monthly report of their own scope attached.
    outcomes = {o.username: o for o in run.run(db, checked, MONDAY_FIRST)}
    assert {o.status for o in outcomes.values()} == {"sent"}, outcomes
    by_to = {m["To"]: m for m in inbox.messages}
    assert set(by_to) == {"lanhdao.so@example.vn", "lanhdao.tp@example.vn"}
    mine = by_to["lanhdao.so@example.vn"]
    unit_name = db.execute("SELECT name FROM units WHERE unit_id = ?", [leader.unit]).fetchone()[0]
    assert mine["Subject"].startswith(f"Thước đo · {unit_name} · báo cáo tháng 10/2026"), mine["Subject"]
    attachments = list(mine.iter_attachments())
    assert len(attachments) == 1 and attachments[0].get_filename() == f"bao-cao-{leader.unit}-2026-10.pdf"
    assert attachments[0].get_content().startswith(b"%PDF")
    links = _links(mine)
    assert links, "every item links to the dashboard"
    assert all(_in_scope(db, leader.unit, path) for path in links), links
    assert not any(_in_scope(db, demo.other_dept, path) for path in links), "nothing from outside the scope"
    html = mine.get_body(("html",)).get_content()
    assert f'href="{BASE}/' in html and "<script" not in html

    # The next day: the daily subscriber gets only what is new (no report); the weekly one waits.
    inbox.messages.clear()
    outcomes = run.run(db, checked, TUESDAY)
    assert [o.username for o in outcomes] == [leader.username]
    assert outcomes[0].status == "sent" and outcomes[0].attachment is None
    (tuesday,) = inbox.messages
    assert not list(tuesday.iter_attachments())
    assert "chưa xếp loại" in tuesday.get_body(("plain",)).get_content(), "pending evaluations near the deadline"

    # The same day again: nothing new, nothing sent, a "skipped" row says why.
    inbox.messages.clear()
    (again,) = run.run(db, checked, TUESDAY, force=True, only=leader.username)
    assert (again.status, again.reason) == ("skipped", "nothing new")
    assert inbox.messages == []

    # A temporary refusal is retried (with backoff) and delivered; the log says after how many tries.
    inbox.fail, inbox.tries = 1, 0
    slept = []
    (retried,) = run.run(db, checked, MONDAY_FIRST, force=True, only=leader.username, sleep=slept.append)
    assert (retried.status, retried.attempts, inbox.tries) == ("sent", 2, 2)
    assert slept == [0]

    # Refused every time: failed after the retries, with the server's answer, and what was new stays new.
    inbox.fail, inbox.tries = 10, 0
    before = store.sent_keys(store.get(db, leader.username))
    (failed,) = run.run(db, checked_settings(port, DIGEST_RETRIES=2), dt.datetime(2026, 11, 4, 7, 30),
                        only=leader.username, sleep=lambda _s: None)
    assert failed.status == "failed" and failed.attempts == 3 and "451" in failed.reason
    assert store.sent_keys(store.get(db, leader.username)) == before
    inbox.fail = 0
    log = store.deliveries(db, leader.username)
    assert [r["status"] for r in log[:4]] == ["failed", "sent", "skipped", "sent"]
    assert log[0]["attempts"] == 3 and "451" in log[0]["reason"] and log[1]["attempts"] == 2


def test_no_mail_server_is_logged_as_skipped(demo, db):
    from dashboard import settings
    from dashboard.digests import run, store
    store.subscribe(db, demo.logins["analyst"].username, "phantich@example.vn", "daily", "test")
    checked = settings.load({"DEMO": True, "PUBLIC_BASE_URL": BASE}, environ={})
    (outcome,) = run.run(db, checked, TUESDAY)
    assert outcome.status == "skipped" and "SMTP_HOST" in outcome.reason
    with pytest.raises(Exception, match="digests are for"):
        store.subscribe(db, demo.logins["official"].username, "canbo@example.vn", "daily", "test")


def test_cli_subscribe_dry_run_and_log(demo, tmp_path):
    path = tmp_path / "cli.duckdb"
    shutil.copy(demo.copies["kpis"], path)
    leader = demo.logins["leader"]
    proc = run_dashboard("digests", "subscribe", leader.username, "--email", "a@example.vn", "--db", path)
    assert proc.returncode == 0, proc.stderr
    proc = run_dashboard("digests", "subscribe", leader.username, "--email", "not an address", "--db", path)
    assert proc.returncode != 0 and "not an e-mail address" in proc.stderr
    proc = run_dashboard("digests", "send", "--now", "--dry-run", "--db", path,
                         env={"THUOCDO_PUBLIC_BASE_URL": BASE})
    assert proc.returncode == 0, proc.stderr
    assert "dry-run" in proc.stdout and f"{BASE}/" in proc.stdout
    proc = run_dashboard("digests", "log", "--db", path)
    assert proc.returncode == 0 and "no deliveries yet" in proc.stdout, "a dry run logs nothing"
    conn = duckdb.connect(str(path), read_only=True)
    assert conn.execute("SELECT count(*) FROM audit_log WHERE target = ?", [f"digest:{leader.username}"]).fetchone()[0] == 1
    conn.close()


def test_settings_page_and_admin_panel(server, demo, browser):
    leader = demo.logins["leader"]
    for size, tag in (((1920, 1080), "desktop"), ((390, 844), "phone")):
        context, page = browser_login(browser, server.base_url, leader, viewport=size)
        try:
            page.goto(server.base_url + "/settings")
            settled(page)
            assert page.locator("#settings-link").count() == 1, "the user menu links to Cài đặt"
            page.fill("#digest-email", "lanhdao.so@example.vn")
            page.locator("#digest-frequency label", has_text="Hằng ngày").click()
            page.click("#digest-save")
            page.wait_for_function("() => document.querySelector('#digest-result').textContent.length > 0")
            assert page.inner_text("#digest-result") == "Đã lưu."
            assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
            screenshot(page, f"settings-{tag}")
        finally:
            context.close()
    for size, tag in (((1920, 1080), "desktop"), ((390, 844), "phone")):
        context, page = browser_login(browser, server.base_url, demo.logins["admin"], viewport=size)
        try:
            page.goto(server.base_url + "/data")
            settled(page)
            table = page.locator("#digests-subscriptions-table")
            table.wait_for()
            assert leader.username in table.inner_text() and "lanhdao.so@example.vn" in table.inner_text()
            page.locator("#digests-admin").scroll_into_view_if_needed()
            page.locator("#digests-admin").screenshot(path=str(ARTIFACTS / f"data-digests-panel-{tag}.png"))
        finally:
            context.close()
