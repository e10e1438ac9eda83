"""Unit names as a reader can tell them apart: a name several units share ("Văn phòng",
"Trung tâm Phục vụ hành chính công") carries its parent's, "Văn phòng · Sở Nội vụ".

Pure functions over a cursor, values bound. Every list of units (pickers, tables, search
results, rule items) should call `shown` rather than print `units.name`.
"""
from __future__ import annotations

SEPARATOR = " · "

_SQL = """
    SELECT u.unit_id, u.name, p.name AS parent_name,
           (SELECT count(*) FROM units x WHERE x.name = u.name) > 1 AS shared
    FROM units u LEFT JOIN units p ON p.unit_id = u.parent_id
    WHERE u.unit_id IN (SELECT unnest(?::VARCHAR[]))"""


def distinct(name: str | None, parent_name: str | None, shared: bool) -> str:
    """The name, with the parent's when the name is shared by several units."""
    name = name or ""
    return f"{name}{SEPARATOR}{parent_name}" if shared and parent_name else name


def shown(cur, unit_ids) -> dict[str, str]:
    """{unit_id: name a reader can tell apart} for the known ones among `unit_ids`."""
    ids = list(dict.fromkeys(i for i in unit_ids if i))
    if not ids:
        return {}
    return {uid: distinct(name, parent, shared) for uid, name, parent, shared in cur.execute(_SQL, [ids]).fetchall()}


def shown_one(cur, unit_id: str) -> str | None:
    return shown(cur, [unit_id]).get(unit_id)
