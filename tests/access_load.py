"""The real-time benchmark's load (bench/realtime.py) behind the access-control suite, so that
the suite's leak checks run while the server is busy: API ratings and task updates at a fixed
rate, wall displays following their units over the push stream, and analysts clicking through
unit pages. Off unless ACCESS_UNDER_LOAD is set, e.g.

    ACCESS_UNDER_LOAD="displays=1000,analysts=20,ratings=50,tasks=20" \\
        .venv/bin/python -m pytest tests/test_access_suite.py

What the load did goes to test-artifacts/reliability/load_behind_access.json and the suite's
cases to access-under-load.json; the reliability report prints both.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import sys
import threading
import time
from pathlib import Path

from conftest import ARTIFACTS, REPO

ENV = "ACCESS_UNDER_LOAD"
REPORT = ARTIFACTS / "reliability" / "load_behind_access.json"   # what the load did
CASES = ARTIFACTS / "reliability" / "access-under-load.json"     # the suite's cases under it
DEFAULTS = {"displays": 1000, "analysts": 20, "ratings": 50, "tasks": 20}


def wanted() -> dict | None:
    """The load asked for in the environment, or None."""
    raw = os.environ.get(ENV)
    if not raw:
        return None
    asked = dict(DEFAULTS)
    for part in filter(None, raw.split(",")):
        key, _, value = part.partition("=")
        if key.strip() not in DEFAULTS:
            raise ValueError(f"{ENV}: unknown {key!r}; use {', '.join(DEFAULTS)}")
        asked[key.strip()] = float(value)
    return asked


class Background:
    """Prepared on the database before the server opens it; started once it runs."""

    def __init__(self, cur, asked: dict):
        sys.path[:0] = [str(REPO / "bench")]
        from dashboard import tokens, users
        from pages import USER

        self.asked = asked
        rng = random.Random(5)
        self.password = secrets.token_urlsafe(16)
        users.add(cur, USER, "admin", self.password, None, None)
        units = [r[0] for r in cur.execute("SELECT DISTINCT unit_id FROM officials WHERE active").fetchall()]
        self.info = {
            "stream": tokens.add_device(cur, "load-stream"),
            "screens": [(f"load-tv-{i}", unit, tokens.add_display(cur, f"load-tv-{i}", unit))
                        for i, unit in enumerate(rng.choice(units) for _ in range(int(asked["displays"])))],
            "officials": [r[0] for r in cur.execute("SELECT official_id FROM officials WHERE active").fetchall()],
            "open_tasks": cur.execute("SELECT task_id, official_id, title, origin, assigned_at, due_at FROM tasks "
                                      "WHERE status = 'open' LIMIT 5000").fetchall(),
            "period": cur.execute("SELECT max(period) FROM scope_month").fetchone()[0],
        }
        self.units = sorted({u for _, u, _ in self.info["screens"]} or set(units))[:40]

    def start(self, server) -> "Background":
        from realtime import Displays, Stream, analysts

        self.server, self.started = server, time.monotonic()
        self.stream = Stream(server.base_url, self.info, self.asked["ratings"], self.asked["tasks"]).start()
        self.displays = Displays(server.base_url, self.info["screens"])
        self._stop, self.analyst_ms, self.analyst_errors = threading.Event(), [], []
        self._analysts = analysts(server.base_url, self.password, self.units, self.info["period"],
                                  int(self.asked["analysts"]), self._stop, self.analyst_ms, self.analyst_errors)
        self._loop = asyncio.new_event_loop()
        self._screens = threading.Thread(target=self._run_screens, daemon=True)
        self._screens.start()
        return self

    def _run_screens(self) -> None:
        async def until_stopped():
            runner = asyncio.create_task(self.displays.run(24 * 3600))
            while not self._stop.is_set():
                await asyncio.sleep(0.5)
            self.displays._stop.set()
            await asyncio.wait([runner], timeout=45)
        self._loop.run_until_complete(until_stopped())

    def stop(self) -> dict:
        from pages import pct

        self._stop.set()
        self.stream.stop()
        for t in self._analysts:
            t.join(60)
        self._screens.join(60)
        seconds = time.monotonic() - self.started
        acks = self.stream.latency
        result = {
            "finished_at": time.strftime("%Y-%m-%d %H:%M"), "seconds": round(seconds),
            "asked": self.asked,
            "ratings_acked": len(acks["ratings"]), "tasks_acked": len(acks["tasks"]),
            "ack_p95_ms": {k: round(pct(v, 0.95)) if v else None for k, v in acks.items()},
            "stream_errors": len(self.stream.errors),
            "displays_connected": self.displays.connected, "display_errors": len(self.displays.errors),
            "display_state_fetches": len(self.displays.fetches), "version_events": self.displays.events,
            "analyst_callbacks": len(self.analyst_ms), "analyst_errors": len(self.analyst_errors),
            "analyst_p95_ms": round(pct(self.analyst_ms, 0.95)) if self.analyst_ms else None,
        }
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(result, indent=2), encoding="utf-8")
        return result


def start_if_asked(cur) -> Background | None:
    asked = wanted()
    return Background(cur, asked) if asked else None

