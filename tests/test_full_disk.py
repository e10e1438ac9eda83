"""A full disk under the real server: the API answers 503 with what to do (nothing stored, send
again), the inbox keeps its files, the pages stay up, the log says it once instead of a
traceback a batch; once space is freed the same batch and the waiting file load, and a restart
finds every acknowledged rating exactly once.

The disk is a small tmpfs mounted for the test (root only: CI and this machine run as root).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import duckdb
import pytest
import requests

from conftest import start_server, stop_server
from test_durability import CSV_HEAD, base  # noqa: F401  (the fixture: demo copy + a system device)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
HEADROOM = 12 << 20   # the disk: the database plus this much


@pytest.fixture
def small_disk(base, tmp_path):  # noqa: F811
    mount = tmp_path / "disk"
    mount.mkdir()
    size = os.path.getsize(base["db"]) + HEADROOM
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * (1 << 16))
    except OSError:
        pass
    finally:
        os.close(fd)


def ratings(officials, first: int, n: int = 40) -> list[dict]:
    return [{"rating_id": f"disk-{i}", "official_id": officials[i % len(officials)], "counter_id": "Q1",
             "rated_at": "2026-10-06T10:00:00+07:00", "level": 1 + i % 4, "comment": "Đúng hẹn, chu đáo " * 20}
            for i in range(first, first + n)]


def test_a_full_disk_refuses_cleanly_and_recovers_without_losing_anything(base, small_disk, tmp_path):  # noqa: F811
    db = small_disk / "db.duckdb"
    shutil.copy(base["db"], db)
    log_path = tmp_path / "server.log"
    server = start_server(db, log_path)
    post = lambda batch: requests.post(f"{server.base_url}/api/v1/ratings", json=batch, timeout=60,  # noqa: E731
                                       headers={"Authorization": f"Bearer {base['token']}"})
    first, refused = ratings(base["officials"], 0), ratings(base["officials"], 40)
    # A contract file written on that disk before it fills, renamed into the inbox after (a
    # rename needs no space): the inbox must keep it until it can be loaded.
    staged = small_disk / "ratings_disk_file.csv"
    staged.write_text(CSV_HEAD + "disk-file-1,%s,Q1,,2026-10-06T11:00:00+07:00,4,,\n" % base["officials"][0],
                      encoding="utf-8")
    waiting = small_disk / "inbox" / staged.name
    try:
        assert post(first).status_code == 200
        fill(small_disk)
        for _ in range(3):   # the device retries while the disk is full
            r = post(refused)
            assert r.status_code == 503, r.text
            assert "cannot write to its disk" in r.json()["error"] and r.json()["retry_after"] > 0
        os.rename(staged, waiting)
        time.sleep(2)
        assert waiting.exists(), "the inbox gave up on a file it could not load"
        assert server.proc.poll() is None and requests.get(server.base_url + "/login", timeout=10).status_code == 200

        os.remove(small_disk / "filler")
        r = post(refused)                         # the same batch, sent again
        assert r.status_code == 200 and r.json()["loaded"] == len(refused), r.text
        deadline = time.monotonic() + 60          # the inbox backs off while the fault lasts
        while waiting.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not waiting.exists(), "the waiting file was not loaded once there was room"
    finally:
        stop_server(server)

    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert "cannot write to its disk" in log
    assert "Traceback" not in log, "a full disk was logged as a traceback"

    server = start_server(db, tmp_path / "restart.log")   # it opens again, and nothing is twice
    stop_server(server)
    conn = duckdb.connect(str(db), read_only=True)
    try:
        stored = conn.execute("SELECT rating_id, count(*) FROM ratings WHERE rating_id LIKE 'disk-%' "
                              "GROUP BY ALL").fetchall()
    finally:
        conn.close()
    assert {r for r, _ in stored} == {r["rating_id"] for r in first + refused} | {"disk-file-1"}
    assert all(n == 1 for _, n in stored)
