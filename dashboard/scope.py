"""What the signed-in user may see: always decided from the server-side user, never from input.

Every layout and callback passes the ids it was given through these checks; a request for
something outside the scope gets the same answer as a request for something that does not
exist (so scope is not leaked), and is logged.
"""
from __future__ import annotations

import logging
import re

from flask import request
from flask_login import current_user

from dashboard.metrics import lookups

log = logging.getLogger("thuocdo.scope")
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def denied(kind: str, value) -> None:
    u = current_user
    log.warning("denied %s=%r to user=%r role=%s path=%s", kind, value,
                getattr(u, "username", None), getattr(u, "role", None), request.path)


def scope_root(u=None) -> str | None:
    """The unit whose subtree the user sees; None = the whole tree (admins, city analysts)."""
    u = u or current_user
    return u.unit_id if u.role in ("leader", "analyst") else None


def home_unit(cur, u=None) -> str | None:
    """The unit the overview shows: the scope root, or the tree's first root."""
    u = u or current_user
    if u.role == "official":
        return None
    root = scope_root(u)
    if root:
        return root
    roots = lookups.roots(cur)
    return roots[0]["unit_id"] if roots else None


def unit(cur, unit_id) -> dict | None:
    """The unit when the user may see it, else None (unknown and out of scope look the same)."""
    u = current_user
    if isinstance(unit_id, str) and _ID.match(unit_id) and u.role != "official":
        root = scope_root(u)
        found = lookups.unit(cur, unit_id)
        if found and (root is None or lookups.is_in_scope(cur, root, unit_id)):
            return found
    denied("unit", unit_id)
    return None


def official(cur, official_id) -> dict | None:
    """The official when the user may see them, else None."""
    u = current_user
    found = None
    if isinstance(official_id, str) and _ID.match(official_id):
        if u.role == "official":
            found = lookups.official(cur, official_id) if official_id == u.official_id else None
        else:
            o = lookups.official(cur, official_id)
            if o and lookups.is_in_scope(cur, scope_root(u), o["unit_id"]):
                found = o
    if found is None:
        denied("official", official_id)
    return found


def period(cur, value) -> str | None:
    """A well-formed `YYYY-MM`, the default period when empty, None (logged) when malformed."""
    if value in (None, ""):
        return lookups.default_period(cur)
    if isinstance(value, str) and _PERIOD.match(value):
        return value
    denied("period", value)
    return None


def units(cur, unit_ids) -> list[str] | None:
    """All of `unit_ids` when every one is in scope, else None (a forged list gets nothing)."""
    if not isinstance(unit_ids, list) or len(unit_ids) > 200:
        denied("units", unit_ids)
        return None
    for unit_id in unit_ids:
        if unit(cur, unit_id) is None:
            return None
    return unit_ids


def may_export() -> bool:
    return current_user.can_export


def is_admin() -> bool:
    return current_user.is_admin


def guard_pages(registry) -> None:
    """Deny by default for pages too: a page's layout runs only for the roles it declares
    (`register_page(..., roles=...)`); anyone else gets the not-found page, as for an unknown id."""
    from dashboard.components.common import not_found
    from dashboard.i18n import current_lang

    for page in registry.values():
        layout, roles = page["layout"], tuple(page.get("roles", ()))

        def guarded(*args, _layout=layout, _roles=roles, _path=page["path"], **kwargs):
            if current_user.role not in _roles:
                denied("page", _path)
                return not_found(current_lang())
            return _layout(*args, **kwargs) if callable(_layout) else _layout

        page["layout"] = guarded
