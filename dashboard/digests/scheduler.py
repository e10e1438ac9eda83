"""The digests' thread inside the server: once a minute it asks whether any subscription is due
(from DIGEST_HOUR, Asia/Ho_Chi_Minh) and sends those. The server process owns the database, so
the thread writes with a cursor of its own on the server's connection, as the audit thread does;
a missed morning (the server was down) is caught up when it starts again the same day.
"""
from __future__ import annotations

import logging
import threading

from dashboard.digests import run

log = logging.getLogger("thuocdo.digests")
_EXTENSION = "thuocdo_digests"
INTERVAL = 60


class Scheduler:
    def __init__(self, database, checked, interval: float = INTERVAL):
        self.database, self.checked, self.interval = database, checked, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list:
        cur = self.database.cursor()
        try:
            outcomes = run.run(cur, self.checked)
        finally:
            cur.close()
        for outcome in outcomes:
            log.info("digest %s", outcome.line())
        return outcomes

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - e.g. the database closing at shutdown; next minute again
                log.exception("digests: a round failed")

    def start(self) -> "Scheduler":
        self._thread = threading.Thread(target=self._loop, name="thuocdo-digests", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def start(server) -> Scheduler | None:
    """Start the thread for the server's app (`serve`), unless DIGESTS is off."""
    checked = server.config["THUOCDO"]
    if not checked["DIGESTS"]:
        return None
    scheduler = Scheduler(server.extensions["thuocdo_db"], checked).start()
    server.extensions[_EXTENSION] = scheduler
    return scheduler
