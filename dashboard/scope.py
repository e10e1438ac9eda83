"""What the signed-in user may see: always decided from the server-side user, never from input.

Every layout and callback passes the ids it was given through these checks; a request for
something outside the scope gets the same answer as a request for something that does not
exist (so scope is not leaked), and is logged.
"""
from __future__ import annotations

import inspect
import logging
import re

import dash
from dash.exceptions import MissingCallbackContextException
from flask import request
from flask_login import current_user

from dashboard import audit
from dashboard.metrics import lookups

log = logging.getLogger("thuocdo.scope")
# Used with fullmatch only: `$` would also match before a final newline, and `\d` matches any
# Unicode digit (Arabic-Indic, full-width), both of which got past the check and raised later.
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def denied(kind: str, value) -> None:
    """Log and audit a refusal. The value and path came with the request: both are shown as a
    bounded repr in the log (no newline of theirs can start a forged line) and stored cut and
    plain in the audit log."""
    u = current_user
    log.warning("denied %s=%s to user=%r role=%s path=%s", kind, audit.shown(value),
                getattr(u, "username", None), getattr(u, "role", None), audit.shown(request.path))
    audit.record("denied", target=kind, detail={"value": value})


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
    if isinstance(unit_id, str) and _ID.fullmatch(unit_id) and u.role != "official":
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
    if isinstance(official_id, str) and _ID.fullmatch(official_id):
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
    if isinstance(value, str) and _PERIOD.fullmatch(value):
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
    for page in registry.values():
        page["layout"] = _guarded(page["layout"], tuple(page.get("roles", ())), page.get("path_template"),
                                  page["path"])


def _guarded(layout, roles: tuple, template: str | None, path: str):
    """The page's layout behind its role check, taking only the URL arguments it declares.

    Dash calls `layout(**path_variables, **query_parameters)`, so every name in a query string
    arrives as a keyword: the guard's own state lives in this closure, never in keywords a URL
    could override (`?_layout=` once replaced a page's body, `?_roles=` passed this check)."""
    from dashboard import db
    from dashboard.components import common
    from dashboard.i18n import current_lang

    params = inspect.signature(layout).parameters if callable(layout) else {}
    declared = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    def guarded(**url_args):
        if current_user.role not in roles:
            denied("page", template or path)
            return common.not_found(current_lang())
        if not callable(layout):
            return layout
        # Unknown names are dropped; a repeated parameter (a list) counts as absent. A query
        # parameter named like a path variable (`/unit/A?unit=B`) loses to the path.
        args = {k: v for k, v in url_args.items() if k in declared and isinstance(v, str)}
        args.update(_path_variables(template))
        if _PERIOD.fullmatch(args.get("period") or ""):  # a month typed in the URL that no data covers
            missing = common.outside_data(db.cursor(), args["period"], current_lang(), _pathname())
            if missing is not None:
                return missing
        return layout(**args)

    return guarded


def _pathname() -> str:
    """The routed page's path (for a link back to it), "/" outside the pages router."""
    try:
        pathname = dash.callback_context.inputs.get("_pages_location.pathname")
    except MissingCallbackContextException:
        return "/"
    # It came with the request: only a same-site path of id characters ("//host" would leave the site).
    ok = isinstance(pathname, str) and re.fullmatch(r"/(?!/)[A-Za-z0-9._/-]{0,200}", pathname)
    return pathname if ok else "/"


def _path_variables(template: str | None) -> dict[str, str]:
    """The routed path's own variables (Dash merges query parameters over them)."""
    if not template:
        return {}
    try:
        pathname = dash.callback_context.inputs.get("_pages_location.pathname")
    except MissingCallbackContextException:  # called outside the pages router: nothing to re-read
        return {}
    if not isinstance(pathname, str):
        return {}
    pattern = "".join(f"(?P<{part}>.*)" if i % 2 else re.escape(part)  # as Dash's own parser
                      for i, part in enumerate(re.split(r"<([^>]+)>", template.strip("/"))))
    found = re.fullmatch(pattern, dash.get_app().strip_relative_path(pathname) or "")
    return found.groupdict() if found else {}
