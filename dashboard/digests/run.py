"""One round of digests: for every subscription due today, build the digest of the login's own
scope (read from the users table now, never stored), send it when something is new (or the
monthly report is due), and log the outcome: sent, skipped (with why) or failed (with the SMTP
error, after the retries).

Due: a daily subscription every day, a weekly one on DIGEST_WEEKDAY, and every subscription on
the month's first working day (the report is attached then); each at most once a day, from
DIGEST_HOUR local time (`force` ignores both, for `digests send --now`).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field

from dashboard import text
from dashboard.digests import compose, mail, store
from dashboard.metrics.definitions import LOCAL_TZ

log = logging.getLogger("thuocdo.digests")


@dataclass
class Outcome:
    username: str
    status: str            # sent | skipped | failed | dry-run
    reason: str = ""
    items: int = 0
    attempts: int = 0
    subject: str = ""
    attachment: str | None = None
    message: object = field(default=None, repr=False)   # the EmailMessage (dry runs, tests)

    def line(self) -> str:
        extra = f" ({self.reason})" if self.reason else ""
        return f"{self.username:<20} {self.status:<8} {self.items:>4} new  {self.subject}{extra}"


def local_now() -> dt.datetime:
    return dt.datetime.now(LOCAL_TZ).replace(tzinfo=None)


def is_due(sub: dict, day: dt.date, weekday: int, force: bool) -> bool:
    if force:
        return True
    if sub["last_run_on"] is not None and sub["last_run_on"] >= day:
        return False
    return sub["frequency"] == "daily" or day.weekday() == weekday or compose.first_working_day(day)


def run(cur, checked, now: dt.datetime | None = None, *, force: bool = False, dry_run: bool = False,
        only: str | None = None, lang: str = "vi", sleep=None) -> list[Outcome]:
    """Send today's digests (those due, or all with `force`); returns one outcome per subscription
    considered. `dry_run` builds and returns the messages but sends, logs and marks nothing."""
    now = now or local_now()
    day = now.date()
    if not force and now.hour < checked["DIGEST_HOUR"]:
        return []
    outcomes, reports = [], {}  # reports: (unit, period) -> PDF, drawn once for the subscribers who share it
    for sub in store.list_all(cur):
        if only and sub["username"] != only:
            continue
        if not is_due(sub, day, checked["DIGEST_WEEKDAY"], force):
            continue
        try:
            outcome = _one(cur, checked, sub, now, dry_run, lang, sleep, reports)
        except Exception as exc:  # noqa: BLE001 - one subscriber's failure must not stop the others
            log.exception("digest for %s failed", text.plain(sub["username"]))
            outcome = Outcome(sub["username"], "failed", f"{type(exc).__name__}: {exc}")
            if not dry_run:
                store.log(cur, sub["username"], sub["email"], "failed", outcome.reason)
                store.mark_run(cur, sub["username"], day)
        outcomes.append(outcome)
    return outcomes


def _one(cur, checked, sub: dict, now: dt.datetime, dry_run: bool, lang: str, sleep, reports: dict) -> Outcome:
    name, email, day = sub["username"], sub["email"], now.date()

    def done(outcome: Outcome, keys=None, sent_at=None) -> Outcome:
        if not dry_run:
            store.log(cur, name, email, outcome.status, outcome.reason or None, outcome.items, outcome.attempts,
                      outcome.subject or None, outcome.attachment)
            store.mark_run(cur, name, day, keys, sent_at)
        return outcome

    if sub["role"] is None or not sub["active"]:
        return done(Outcome(name, "skipped", "the login is disabled or gone"))
    if sub["role"] == "official":
        return done(Outcome(name, "skipped", "digests are for leaders, analysts and admins"))
    unit_id = compose.scope_unit(cur, sub["role"], sub["unit_id"])
    if unit_id is None:
        return done(Outcome(name, "skipped", "no units in the database"))
    since = (sub["last_sent_at"].date() if sub["last_sent_at"] else
             day - dt.timedelta(days=7 if sub["frequency"] == "weekly" else 1))
    known = store.sent_keys(sub)
    digest = compose.build(cur, name, unit_id, day, min(since, day), known, lang,
                           checked["EVALUATION_DEADLINE_DAY"], checked["EVALUATION_REMINDER_DAYS"])
    if not digest.new and not digest.report_period:
        return done(Outcome(name, "skipped", "nothing new", 0))
    attachment = None
    if digest.report_period:
        from dashboard.reports.cli import render
        from dashboard.reports.web import file_name
        key = (unit_id, digest.report_period)
        if key not in reports:
            reports[key] = render(cur, unit_id, digest.report_period, lang=lang)
        attachment = (file_name(unit_id, digest.report_period), reports[key])
    base = mail.base_url(checked)
    msg = mail.message(digest, email, name, checked["MAIL_FROM"], base, lang, attachment)
    outcome = Outcome(name, "dry-run" if dry_run else "sent", "", len(digest.new), 0, msg["Subject"],
                      attachment[0] if attachment else None, msg)
    if dry_run:
        return outcome
    if not checked["SMTP_HOST"]:
        outcome.status, outcome.reason = "skipped", "no mail server set (THUOCDO_SMTP_HOST)"
        return done(outcome)
    # Items no longer current are dropped from what is known: if they come back, they are new.
    keys = {i.key for i in digest.items}
    try:
        outcome.attempts = mail.send(msg, checked, os.environ.get("THUOCDO_SMTP_PASSWORD"),
                                     **({"sleep": sleep} if sleep else {}))
    except mail.DeliveryFailed as exc:
        outcome.status, outcome.reason, outcome.attempts = "failed", exc.reason, exc.attempts
        log.warning("digest to %s failed after %d attempts: %s", text.plain(name), exc.attempts, exc.reason)
        return done(outcome)  # what was new stays new: tomorrow's digest carries it
    return done(outcome, keys, now)
