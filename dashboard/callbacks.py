"""What every panel callback does first: a cursor, the visitor's language, the checked target,
and the shared cache keyed by data version.

The target (unit or official, period) is re-checked here against the server-side user on
every call, whatever the callback's inputs say.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import dash
from dash import Input, Output

from dashboard import cache, db, live, scope
from dashboard.components import common
from dashboard.i18n import current_lang, t
from dashboard.metrics.definitions import today_local

log = logging.getLogger(__name__)


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

def cached(cur, lang: str, name: str, args: tuple, build: Callable[[], Any], *, json_ready: bool = False,
           unit_id: str | None = None) -> Any:
    """`build()` once per version of the unit's subtree (default: of all data), panel, arguments,
    language and day (overdue counts move daily). With `json_ready`, components are kept as
    plain JSON structures (see cache.json_ready)."""
    make = (lambda: cache.json_ready(build())) if json_ready else build
    return cache.cached(live.scope_version(unit_id), name, (*args, lang, today_local()), make)


def _ids(outputs) -> tuple[str, ...]:
    return outputs if isinstance(outputs, tuple) else (outputs,)


def fill(ctx: Ctx, panels: dict[str, tuple]) -> dict[str, Any]:
    """Every panel of a page, for its layout: from the shared cache, built now by whoever asks
    first. The page then arrives whole in one round trip (one render in the browser instead of
    one per panel, and no second round of requests), and its panel callbacks answer only later
    data versions. `panels`: {name: (output id(s), builder)}. Returns {output id: content}; a
    panel that fails gets a note (and the log the error), the rest of the page still shows."""
    contents = {}
    for name, (outputs, build) in panels.items():
        ids = _ids(outputs)
        try:
            value = ctx.cached(name, ctx.key, lambda build=build: build(ctx))
        except Exception:  # noqa: BLE001 (one panel's fault must not take the page down)
            log.exception("panel %s for %s could not be built", name, ctx.key)
            value = _note_in_each(t("panel_failed", ctx.lang), len(ids))
        contents.update(zip(ids, value if len(ids) > 1 else (value,)))
    return contents


def panel_callbacks(panels: dict[str, tuple], make_ctx: Callable[[Any], Ctx | None]) -> None:
    """One callback per panel: (page-args, data-version) -> its output(s), through `panel`.
    Not called as the page mounts: the layout already holds every panel (`fill`)."""
    for name, (outputs, build) in panels.items():
        ids = _ids(outputs)

        def refill(args, _version, name=name, build=build, n=len(ids)):
            return panel(make_ctx(args), name, build, n)

        dash.callback(*(Output(i, "children") for i in ids), Input("page-args", "data"),
                      Input("data-version", "data"), prevent_initial_call=True)(refill)


def panel(ctx: Ctx | None, name: str, build: Callable[[Ctx], Any], n: int = 1):
    """The panel(s) `build(ctx)` makes, shared through the cache; for a target the user may
    not see (ctx None), the not-found note in each of the `n` outputs."""
    if ctx is None:
        return _note_in_each(t("not_found_body", current_lang()), n)
    return ctx.cached(name, ctx.key, lambda: build(ctx))


def _note_in_each(text: str, n: int):
    """A note as the answer of a panel with `n` outputs (a tuple of them when several)."""
    note = common.empty(text)
    return note if n == 1 else (note,) * n


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
