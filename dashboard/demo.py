"""Demo mode: demo data when the database is empty, and one login per role with printed passwords."""
from __future__ import annotations

import secrets

from dashboard import users
from dashboard.errors import DashboardError
from dashboard.metrics import lookups
from etl.db import connect


def ensure_data(db_path) -> None:
    """Build the demo data set into an empty database (before the server opens it)."""
    conn = connect(db_path)
    try:
        has_units = conn.execute("SELECT count(*) FROM units").fetchone()[0] > 0
    finally:
        conn.close()
    if has_units:
        return
    try:
        from etl.demo import build_demo
    except ImportError:
        raise DashboardError("the demo data builder (etl/demo.py) is not available; load data with `python -m etl load`") from None
    print(f"building demo data into {db_path} …", flush=True)
    build_demo(db_path, scale="demo")


def _demo_logins(cur) -> list[tuple[str, str, str | None, str | None]]:
    roots = lookups.roots(cur)
    if not roots:
        raise DashboardError("the database has no units; demo logins need the demo data")
    root = roots[0]["unit_id"]
    below = [u for u in lookups.units_in_scope(cur, root, max_depth=1) if u["depth"] == 1]
    department = below[0]["unit_id"] if below else root
    people = lookups.officials_in_scope(cur, department, limit=1)
    logins = [("admin", "admin", None, None), ("lanhdao", "leader", root, None),
              ("lanhdao.so", "leader", department, None), ("phantich", "analyst", None, None)]
    if people:
        logins.append(("canbo", "official", None, people[0]["official_id"]))
    return logins


def ensure_users(database) -> str:
    """(Re)create the demo logins with fresh random passwords; returns the text to print."""
    cur = database.cursor()
    lines = ["Demo logins (new passwords at every start):"]
    try:
        for name, role, unit_id, official_id in _demo_logins(cur):
            password = secrets.token_urlsafe(9)
            if users.get(cur, name) is None:
                users.add(cur, name, role, password, unit_id, official_id)
            else:
                users.set_scope(cur, name, role, unit_id, official_id)
                users.set_password(cur, name, password)
                users.set_active(cur, name, True)
            scope = unit_id or official_id or "toàn thành phố / everything"
            lines.append(f"  {name:<12} {password:<14} {role:<9} {scope}")
    finally:
        cur.close()
    return "\n".join(lines)
