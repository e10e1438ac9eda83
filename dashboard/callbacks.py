"""What every panel callback does first: a cursor, the visitor's language, the checked target,
and the shared cache keyed by data version.

The target (unit or official, period) is re-checked here against the server-side user on
every call, whatever the callback's inputs say.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import dash
from dash import Input, Output

from dashboard import cache, db, live, scope
from dashboard.components import common
from dashboard.i18n import current_lang, t
from dashboard.metrics.definitions import today_local


@dataclass(frozen=True)
class Ctx:
    cur: Any
    lang: str
    period: str
    unit: dict | None = None
    official: dict | None = None

    @property
    def key(self) -> tuple:
        who = self.unit["unit_id"] if self.unit else self.official["official_id"]
        return (who, self.period)

    @property
    def scope_unit(self) -> str:
        """The unit whose subtree holds this target's data: a commit elsewhere leaves it alone."""
        return self.unit["unit_id"] if self.unit else self.official["unit_id"]

    def cached(self, name: str, args: tuple, build: Callable[[], Any]) -> Any:
        return cached(self.cur, self.lang, name, args, build, json_ready=True, unit_id=self.scope_unit)

    def built(self, name: str) -> Any:
        """The panel if some viewer already built it for this scope's version, else None."""
        key = (live.scope_version(self.scope_unit), name, (*self.key, self.lang, today_local()))
        return cache.panel_cache().peek(key)


def cached(cur, lang: str, name: str, args: tuple, build: Callable[[], Any], *, json_ready: bool = False,
           unit_id: str | None = None) -> Any:
    """`build()` once per version of the unit's subtree (default: of all data), panel, arguments,
    language and day (overdue counts move daily). With `json_ready`, components are kept as
    plain JSON structures (see cache.json_ready)."""
    make = (lambda: cache.json_ready(build())) if json_ready else build
    return cache.cached(live.scope_version(unit_id), name, (*args, lang, today_local()), make)


def _ids(outputs) -> tuple[str, ...]:
    return outputs if isinstance(outputs, tuple) else (outputs,)


def prefill(ctx: Ctx, panels: dict[str, tuple]) -> tuple[dict[str, Any], list[str]]:
    """Panels already built for this data version go straight into the layout, so a page
    somebody has seen needs one round trip instead of two. `panels`: {name: (output id(s),
    builder)}. Returns ({output id: content}, names prefilled); the callbacks skip those
    names on their first call (see `panel`)."""
    contents, names = {}, []
    for name, (outputs, _build) in panels.items():
        value = ctx.built(name)
        if value is None:
            continue
        names.append(name)
        ids = _ids(outputs)
        contents.update(zip(ids, value if len(ids) > 1 else (value,)))
    return contents, names


def panel_callbacks(panels: dict[str, tuple], make_ctx: Callable[[Any], Ctx | None]) -> None:
    """One callback per panel: (page-args, data-version) -> its output(s), through `panel`."""
    for name, (outputs, build) in panels.items():
        ids = _ids(outputs)

        def fill(args, _version, name=name, build=build, n=len(ids)):
            return panel(make_ctx(args), name, build, n, prefilled=(args or {}).get("prefilled"))

        dash.callback(*(Output(i, "children") for i in ids), Input("page-args", "data"),
                      Input("data-version", "data"))(fill)


def panel(ctx: Ctx | None, name: str, build: Callable[[Ctx], Any], n: int = 1, prefilled=()):
    """The panel(s) `build(ctx)` makes, shared through the cache; for a target the user may
    not see (ctx None), the not-found note in each of the `n` outputs. On the first call after
    a layout that already holds the panel (`prefilled`), nothing is sent again."""
    if ctx is None:
        note = common.empty(t("not_found_body", current_lang()))
        return note if n == 1 else (note,) * n
    if dash.ctx.triggered_id is None and name in (prefilled or ()):
        return dash.no_update if n == 1 else (dash.no_update,) * n  # the layout already holds it
    return ctx.cached(name, ctx.key, lambda: build(ctx))


def _args(args) -> dict:
    return args if isinstance(args, dict) else {}


def unit_ctx(args, home_by_default: bool = False) -> Ctx | None:
    """The checked unit and period named by a page's args store, or None (logged) when not
    allowed. Scope-wide pages (alerts, OKR) default the unit to the user's home unit."""
    cur, args = db.cursor(), _args(args)
    unit_id = args.get("unit") or (scope.home_unit(cur) if home_by_default else None)
    period = scope.period(cur, args.get("period"))
    unit = scope.unit(cur, unit_id)
    if unit is None or period is None:
        return None
    return Ctx(cur, current_lang(), period, unit=unit)


def official_ctx(args) -> Ctx | None:
    """The checked official and period named by a page's args store, or None (logged)."""
    cur, args = db.cursor(), _args(args)
    period = scope.period(cur, args.get("period"))
    official = scope.official(cur, args.get("official"))
    if official is None or period is None:
        return None
    return Ctx(cur, current_lang(), period, official=official)
