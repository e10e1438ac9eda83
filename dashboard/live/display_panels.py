"""The wall display's panels (dashboard/live/display.py) as plain, ready-to-show data.

Every number comes from dashboard/metrics (metrics.md) and is formatted here, in Python, the
Vietnamese way (dashboard/formats.py); the page only puts the strings where they belong. The
look-up metrics has no function for is the small pure function at the end (values bound
as `?` parameters).

What a wall screen shows differs from a unit page in one way: the month. A page shows the last
complete month by default (lookups.default_period); a screen in the office shows the running
month as soon as it has data, labelled "tháng này (đang cập nhật)", and compares what can be
compared fairly with the same days of the previous month (citizens' ratings, which are never
in the future) and the task rates with the whole previous month (saying so). The evaluation
figures (pending evaluations, KHT, rule violations) are those of the last month evaluated.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from dashboard import formats
from dashboard.text import label as shown  # names from the data: no bidi controls, cut
from dashboard.components.palette import band
from dashboard.i18n import t
from dashboard.metrics import attention, compare, kpis, lookups
from dashboard.metrics.definitions import LOCAL_TZ, previous_period, today_local
from dashboard.metrics.subtrees import SubtreeRollups, subtree_rollups

# key: (Vietnamese, English): the display's own texts (the shared ones come from dashboard/i18n).
TEXTS: dict[str, tuple[str, str]] = {
    "running_month": ("tháng này (đang cập nhật)", "this month (updating)"),
    "month_n": ("tháng {period}", "month {period}"),
    "this_month": ("tháng này", "this month"),
    "vs_month": ("so với tháng {period}", "vs {period}"),
    "vs_same_days": ("so với cùng kỳ {first}–{last}", "vs the same days, {first}–{last}"),
    "as_of_today": ("tính đến hôm nay", "as of today"),
    "no_compare": ("chưa có số liệu để so sánh", "nothing to compare with yet"),
    "unchanged": ("không đổi", "unchanged"),
    "of_tasks": ("{n}/{d} nhiệm vụ đến hạn", "{n} of {d} tasks due"),
    "done_tasks": ("{n}/{d} nhiệm vụ đã xong", "{n} of {d} tasks done"),
    "open_tasks": ("nhiệm vụ đã quá hạn, chưa xong", "tasks past due, still open"),
    "of_ratings": ("{n}/{d} lượt hài lòng trở lên", "{n} of {d} ratings satisfied or better"),
    "dissatisfied": ("{n} lượt không hài lòng", "{n} dissatisfied"),
    "of_officials": ("trên {n} cán bộ · tháng {period}", "of {n} officials · {period}"),
    "pending_label": ("Chưa xếp loại", "Not yet evaluated"),
    "children_title": ("Đơn vị trực thuộc", "Units below"),
    "officials_title": ("Cán bộ của đơn vị", "Officials of the unit"),
    "worst_first": ("Tỷ lệ đúng hạn {period}, thấp nhất trước", "On-time rate {period}, lowest first"),
    "n_officials": ("{n} cán bộ", "{n} officials"),
    "n_tasks": ("{n} nhiệm vụ", "{n} tasks"),
    "more_units": ("và {n} đơn vị khác", "and {n} more units"),
    "more_officials": ("và {n} cán bộ khác", "and {n} more officials"),
    "no_children": ("Chưa có số liệu nhiệm vụ trong tháng.", "No task figures this month yet."),
    "ratings_title": ("Người dân đánh giá", "Citizens' ratings"),
    "ratings_hint": ("Các lượt đánh giá mới nhất tại quầy", "The newest ratings at the counters"),
    "no_ratings": ("Chưa có lượt đánh giá nào.", "No ratings yet."),
    "counter": ("Quầy {id}", "Counter {id}"),
    "attention_title": ("Cán bộ cần quan tâm", "Officials needing attention"),
    "attention_hint": ("Việc quá hạn hôm nay · xếp loại và vi phạm tháng {period}",
                       "Overdue today · evaluations and violations of {period}"),
    "no_attention": ("Không có cán bộ nào cần lưu ý. Tốt lắm!", "Nobody needs attention. Well done!"),
    "overdue_n": ("{n} việc quá hạn", "{n} overdue"),
    "kht": ("Xếp loại KHT · {period}", "Rated KHT · {period}"),
    "okr_title": ("Mục tiêu và kết quả then chốt", "Objectives and key results"),
    "okr_hint": ("Tiến độ theo số liệu {period}", "Progress from the figures of {period}"),
    "no_okr": ("Chưa có mục tiêu nào cho kỳ này.", "No objectives for this period."),
    "kr_value": ("{value} / mục tiêu {target}", "{value} / target {target}"),
    "tab_children": ("Đơn vị", "Units"),
    "tab_officials": ("Cán bộ", "Officials"),
    "tab_ratings": ("Đánh giá", "Ratings"),
    "tab_attention": ("Cần quan tâm", "Attention"),
    "tab_okr": ("OKR", "OKR"),
    # the page's own texts (display.py renders them; display.js reads them from data attributes)
    "updated_at": ("Cập nhật lúc", "Updated at"),
    "lost_since": ("Mất kết nối từ {time}", "Connection lost since {time}"),
    "maybe_stale": ("số liệu có thể đã cũ", "figures may be out of date"),
    "connecting": ("Đang kết nối…", "Connecting…"),
    "tiles_label": ("Chỉ số chính", "Main figures"),
    "revoked_title": ("Màn hình đã bị thu hồi quyền", "This screen's access was revoked"),
    "revoked_text": ("Màn hình này không còn được phép hiển thị số liệu. "
                     "Vui lòng báo cán bộ quản trị để cấp lại.",
                     "This screen may no longer show figures. Please ask an administrator for a new link."),
    "denied_title": ("Màn hình chưa được cấp quyền hoặc đã bị thu hồi",
                     "This screen is not authorised or was revoked"),
    "denied_text": ("Đường dẫn này không hợp lệ hoặc đã bị thu hồi. "
                    "Vui lòng báo cán bộ quản trị để cấp đường dẫn mới cho màn hình.",
                    "This link is not valid or was revoked. Please ask an administrator for a new link "
                    "for this screen."),
}

PANEL_NAMES = ("tiles", "children", "ratings", "attention", "okr")

# (KPI key, how it is shown, +1 higher is better / -1 lower is better / 0 neither, compared with)
TILES = (
    ("on_time_rate", "rate", +1, "tasks"),
    ("completion_rate", "rate", +1, "tasks"),
    ("overdue_open", "count", -1, "today"),
    ("satisfaction_rate", "rate", +1, "ratings"),
    ("ratings_count", "count", 0, "ratings"),
    ("pending_evaluations", "count", -1, "evaluations"),
)
RATE_METRICS = {"on_time_rate", "completion_rate", "satisfaction_rate"}
DECIMAL_METRICS = {"task_score": 1, "satisfaction_mean": 2}
CHILDREN_SHOWN = 10
RATINGS_SHOWN = 10
ATTENTION_SHOWN = 8
OBJECTIVES_SHOWN = 4
KRS_SHOWN = 4
EVALUATED_LOOKBACK = 3  # complete months searched back for the last month evaluated


def text(key: str, lang: str, **fmt) -> str:
    pair = TEXTS.get(key)
    if pair is None:
        return t(key, lang, **fmt)
    value = pair[1 if lang == "en" else 0]
    return value.format(**fmt) if fmt else value


def texts(lang: str) -> dict[str, str]:
    """Every text of the display in one language (for the page's template)."""
    return {key: text(key, lang) for key in TEXTS}


# --- the whole display ------------------------------------------------------------------

# The data kinds each panel reads (None: any). A commit of other kinds leaves a panel as it
# was: a rating moves the tiles, the feed and the OKRs (a key result may measure satisfaction),
# never the on-time ranking of units or officials, nor who has overdue tasks or a KHT.
PANEL_KINDS: dict[str, tuple[str, ...] | None] = {
    "tiles": None, "children": ("tasks",), "ratings": ("ratings",),
    "attention": ("tasks", "evaluations"), "okr": None}


def build(cur, unit_id: str, panels, lang: str = "vi", today: dt.date | None = None,
          now: dt.datetime | None = None, latest_ratings: Callable | None = None,
          memo: Callable | None = None, panel_memo: Callable | None = None) -> dict:
    """The data of every panel in `panels` for the unit's subtree, as of today.
    latest_ratings(units, limit): the newest ratings of those units (the live hub's feed);
    memo(name, args, build): caches something that depends on the day only (the same days of
    the previous month); panel_memo(panel, period, build): caches one panel's data (the
    display keys it by its scope's last change of the panel's PANEL_KINDS). None: build."""
    today = today or today_local()
    now = now or dt.datetime.now(LOCAL_TZ).replace(tzinfo=None)
    memo = memo or (lambda _name, _args, fn: fn())
    panel_memo = panel_memo or (lambda _panel, _period, fn: fn())
    tree = subtree_rollups(cur)
    if unit_id not in tree.units:
        raise LookupError(f"unknown unit {unit_id}")
    period, running = choose_period(cur, tree, unit_id, today)
    out = {"unit": {"unit_id": unit_id, "name": shown(tree.units[unit_id][1])},
           "period": period, "running": running,
           "period_label": text("running_month", lang) if running else
           text("month_n", lang, period=formats.period(period))}
    builders = {
        "tiles": lambda: tiles_panel(cur, tree, unit_id, period, running, today, now, lang, memo),
        "children": lambda: children_panel(cur, tree, unit_id, period, lang, today),
        "ratings": lambda: ratings_panel(cur, tree, unit_id, today, lang, latest_ratings),
        "attention": lambda: attention_panel(cur, tree, unit_id, today, lang),
        "okr": lambda: okr_panel(cur, unit_id, period, lang, today),
    }
    for name in panels:
        if name in builders:
            out[name] = panel_memo(name, (period, running), builders[name])
    return out


def choose_period(cur, tree: SubtreeRollups, unit_id: str, today: dt.date) -> tuple[str, bool]:
    """(period, running): the running month when the unit's subtree has tasks due or ratings in
    it, else the pages' default (the last complete month with data)."""
    current = today.strftime("%Y-%m")
    sums = tree.sums.get((unit_id, current)) or {}
    if int(sums.get("tasks_due") or 0) or any(int(sums.get(f"r_l{i}") or 0) for i in (1, 2, 3, 4)):
        return current, True
    return lookups.default_period(cur, today), False


def last_evaluated_period(tree: SubtreeRollups, unit_id: str, today: dt.date) -> str:
    """The newest of the last EVALUATED_LOOKBACK complete months with any current result in the
    subtree; the last complete month when none has."""
    last_complete = previous_period(today.strftime("%Y-%m"))
    for back in range(EVALUATED_LOOKBACK):
        period = previous_period(last_complete, back)
        rated = tree.rated.get((unit_id, period))
        if rated and any(int(x or 0) for x in rated[:4]):
            return period
    return last_complete


# --- tiles -------------------------------------------------------------------------------

def _split(shown: str) -> tuple[str, str]:
    """'85,3 %' -> ('85,3', '%'); '85.3%' -> ('85.3', '%'); counts stay whole."""
    if shown.endswith("%"):
        return shown[:-1].rstrip(), "%"
    return shown, ""


def _delta(now, before, how: str, better: int, lang: str) -> dict:
    """{"text", "dir": up|down|same|none, "tone": better|worse|neutral|none}."""
    if now is None or before is None:
        return {"text": text("no_compare", lang), "dir": "none", "tone": "none"}
    diff = now - before
    if abs(diff) < 1e-12:
        return {"text": "= " + text("unchanged", lang), "dir": "same", "tone": "neutral"}
    amount = formats.points(diff, lang) if how == "rate" else formats.number(abs(diff), lang)
    tone = "neutral" if better == 0 else ("better" if (diff > 0) == (better > 0) else "worse")
    return {"text": f"{'▲' if diff > 0 else '▼'} {amount}", "dir": "up" if diff > 0 else "down", "tone": tone}


def _tile(key: str, label: str, value, before, how: str, better: int, compare_text: str, note: str,
          lang: str, compared: bool = True) -> dict:
    shown = formats.kpi(value, how, lang)
    main, unit = _split(shown)
    return {"key": key, "label": label, "value": value, "text": shown, "main": main, "unit": unit,
            "delta": _delta(value, before, how, better, lang) if compared
            else {"text": "", "dir": "none", "tone": "none"},
            "compare": compare_text, "note": note}


def tiles_panel(cur, tree, unit_id: str, period: str, running: bool, today: dt.date, now: dt.datetime,
                lang: str, memo: Callable) -> dict:
    """The unit's main KPIs for the period with their change and what it is measured against."""
    current, before = kpis.unit_kpis_with_previous(cur, unit_id, period, as_of=today)
    previous = previous_period(period)
    vs_month = text("vs_month", lang, period=formats.period(previous))
    ratings_before, ratings_vs = before, vs_month
    if running:  # ratings so far this month against the same days of the previous month
        first, after = lookups.period_bounds(previous)
        last_day = min(today.day, (after - first).days)
        end = first + dt.timedelta(days=last_day)
        count, satisfied = memo("display-same-days", (unit_id, previous, last_day),
                                lambda: ratings_between(cur, unit_id, first, end))
        ratings_before = {"ratings_count": count,
                          "satisfaction_rate": satisfied / count if count else None}
        ratings_vs = text("vs_same_days", lang, first="1", last=f"{last_day}/{first.month:02d}")
    # Evaluations: the running month is not evaluated before it ends; show the month before.
    evaluated = previous if running else period
    if running:
        evals, evals_before = kpis.unit_kpis_with_previous(cur, unit_id, evaluated, as_of=today)
    else:
        evals, evals_before = current, before

    def n(x):
        return formats.number(x, lang)

    due, on_time, done = current["tasks_due"], current["tasks_on_time"], current["tasks_done"]
    count = current["ratings_count"]
    satisfied = round((current["satisfaction_rate"] or 0) * count)
    out = []
    for key, how, better, basis in TILES:
        label = text("pending_label", lang) if key == "pending_evaluations" else t(key, lang)
        if basis == "tasks":
            note = text("of_tasks" if key == "on_time_rate" else "done_tasks", lang,
                        n=n(on_time if key == "on_time_rate" else done), d=n(due))
            out.append(_tile(key, label, current[key], before.get(key), how, better, vs_month, note, lang))
        elif basis == "today":
            out.append(_tile(key, label, current[key], None, how, better, text("as_of_today", lang),
                             text("open_tasks", lang), lang, compared=False))
        elif basis == "ratings":
            note = (text("of_ratings", lang, n=n(satisfied), d=n(count)) if key == "satisfaction_rate"
                    else text("dissatisfied", lang, n=n(current["dissatisfied_count"])))
            out.append(_tile(key, label, current[key], ratings_before.get(key), how, better, ratings_vs, note, lang))
        else:
            note = text("of_officials", lang, n=n(evals["officials_total"]), period=formats.period(evaluated))
            out.append(_tile(key, label, evals[key], evals_before.get(key), how, better,
                             text("vs_month", lang, period=formats.period(previous_period(evaluated))), note, lang))
    return {"title": text("tiles_label", lang), "tiles": out}


def _period_words(period: str, lang: str, today: dt.date | None = None) -> str:
    """'tháng này' for the running month, else 'tháng 11/2026'."""
    if period == (today or today_local()).strftime("%Y-%m"):
        return text("this_month", lang)
    return text("month_n", lang, period=formats.period(period))


# --- children (or officials) worst first -------------------------------------------------

def _band(rate) -> tuple[str, str]:
    """(symbol, tone) of an on-time rate (palette.band); no symbol beside a missing rate's "–"."""
    symbol, tone = band(rate)
    return ("" if tone == "none" else symbol), tone


def _bar(rate) -> float:
    return 0.0 if rate is None or rate != rate else max(0.0, min(1.0, float(rate)))


def _rate_or_none(x):
    return None if x is None or x != x else float(x)


def children_panel(cur, tree, unit_id: str, period: str, lang: str, today: dt.date | None = None) -> dict:
    """The unit's children worst first on on-time rate (units with no tasks last); a unit without
    children shows its active officials that way instead."""
    table = compare.children(cur, unit_id, period)
    rows = []
    if len(table):
        mode, total = "units", len(table)
        records = table.to_dict("records")
        records.sort(key=lambda r: (_rate_or_none(r["on_time_rate"]) is None,
                                    _rate_or_none(r["on_time_rate"]) or 0.0, r["name"], r["unit_id"]))
        for r in records[:CHILDREN_SHOWN]:
            rate = _rate_or_none(r["on_time_rate"])
            symbol, tone = _band(rate)
            rows.append({"id": r["unit_id"], "name": shown(r["name"]), "value": rate, "text": formats.rate(rate, lang),
                         "bar": _bar(rate), "band": tone, "symbol": symbol,
                         "sub": text("n_tasks", lang, n=formats.number(int(r["tasks_due"] or 0), lang)),
                         "officials": int(r["officials_total"] or 0),
                         "officials_text": text("n_officials", lang,
                                                n=formats.number(int(r["officials_total"] or 0), lang))})
        more = text("more_units", lang, n=formats.number(total - len(rows), lang)) if total > len(rows) else ""
    else:
        mode = "officials"
        ranked = compare.officials_ranking(cur, unit_id, period, sort_by="on_time_rate", descending=False,
                                           limit=CHILDREN_SHOWN * 3)
        records = [r for r in ranked.to_dict("records") if r["active"]]
        total = compare.ranking_size(cur, unit_id, period)
        for r in records[:CHILDREN_SHOWN]:
            rate = _rate_or_none(r["on_time_rate"])
            symbol, tone = _band(rate)
            rows.append({"id": r["official_id"], "name": shown(r["full_name"]), "value": rate,
                         "text": formats.rate(rate, lang), "bar": _bar(rate), "band": tone, "symbol": symbol,
                         "sub": " · ".join(x for x in (shown(r["position"]), text(
                             "n_tasks", lang, n=formats.number(int(r["tasks_due"] or 0), lang))) if x),
                         "officials": None, "officials_text": ""})
        more = (text("more_officials", lang, n=formats.number(total - len(rows), lang))
                if total > len(rows) else "")
    return {"title": text("children_title" if mode == "units" else "officials_title", lang),
            "hint": text("worst_first", lang, period=_period_words(period, lang, today)),
            "tab": text("tab_children" if mode == "units" else "tab_officials", lang),
            "mode": mode, "rows": rows, "more": more, "empty": text("no_children", lang)}


# --- the live feed of citizens' ratings --------------------------------------------------

LEVEL_TONES = {4: "l4", 3: "l3", 2: "l2", 1: "l1"}


def ratings_panel(cur, tree, unit_id: str, today: dt.date, lang: str, latest_ratings: Callable | None) -> dict:
    """The newest ratings of officials in the subtree: level in words, counter, time, official.
    Nothing about the citizen (no comment, no reason)."""
    units = tree.descendants.get(unit_id, frozenset({unit_id}))
    feed = list(latest_ratings(units, RATINGS_SHOWN)) if latest_ratings else []
    names = lookups.official_names(cur, [r[1] for r in feed])
    rows = []
    for rating_id, official_id, _unit, counter_id, rated_at, level in feed:
        if isinstance(rated_at, str):
            rated_at = dt.datetime.fromisoformat(rated_at)
        level = int(level)
        rows.append({"id": str(rating_id), "level": level, "level_text": t(f"level_{level}", lang),
                     "tone": LEVEL_TONES.get(level, "l2"),
                     "counter": text("counter", lang, id=counter_id) if counter_id else formats.DASH,
                     "time": rated_at.strftime("%H:%M"),
                     "day": "" if rated_at.date() == today else rated_at.strftime("%d/%m"),
                     "official": shown(names.get(official_id) or official_id)})
    return {"title": text("ratings_title", lang), "hint": text("ratings_hint", lang),
            "tab": text("tab_ratings", lang), "rows": rows,
            "empty": text("no_ratings", lang)}


# --- officials needing attention ---------------------------------------------------------

def attention_panel(cur, tree, unit_id: str, today: dt.date, lang: str) -> dict:
    """Officials with overdue open tasks, a KHT result or a rule violation in the last month
    evaluated: KHT first, then violations, then the most overdue; at most ATTENTION_SHOWN."""
    evaluated = last_evaluated_period(tree, unit_id, today)
    chosen = attention.officials_needing_attention(cur, unit_id, evaluated, today, ATTENTION_SHOWN)
    rows = []
    for p in chosen:
        reasons = []
        if p["kht"]:
            reasons.append({"kind": "kht", "text": text("kht", lang, period=formats.period(evaluated))})
        for rule in p["violations"]:
            reasons.append({"kind": "violation", "text": t(f"rule_{rule}", lang)})
        if p["overdue"]:
            reasons.append({"kind": "overdue", "text": text("overdue_n", lang, n=formats.number(p["overdue"], lang))})
        unit = tree.units.get(p["unit_id"])
        rows.append({"id": p["official_id"], "name": shown(p["name"] or p["official_id"]),
                     "unit": shown(unit[1]) if unit else "",
                     "reasons": reasons})
    return {"title": text("attention_title", lang),
            "hint": text("attention_hint", lang, period=formats.period(evaluated)),
            "tab": text("tab_attention", lang), "rows": rows,
            "period": evaluated, "empty": text("no_attention", lang)}


# --- objectives and key results ----------------------------------------------------------

def _kr_number(value, metric: str, lang: str) -> str:
    if value is None:
        return formats.DASH
    if metric in RATE_METRICS:
        return formats.rate(value, lang)
    if metric in DECIMAL_METRICS:
        return formats.number(value, lang, DECIMAL_METRICS[metric])
    return formats.number(value, lang, 0 if float(value).is_integer() else 1)


def _flatten(nodes: list[dict]) -> list[dict]:
    out = []
    for node in nodes:
        out.append(node)
        out.extend(_flatten(node.get("children") or []))
    return out


def okr_panel(cur, unit_id: str, period: str, lang: str, today: dt.date | None = None) -> dict:
    """The unit's own objectives covering the period, each with its key results' progress."""
    objectives = []
    for node in _flatten(lookups.okr_tree(cur, unit_id, period, max_depth=0))[:OBJECTIVES_SHOWN]:
        krs = []
        for kr in node["key_results"][:KRS_SHOWN]:
            progress = kr["progress"]
            krs.append({"id": kr["kr_id"], "title": kr["title"],
                        "text": text("kr_value", lang, value=_kr_number(kr["value"], kr["metric"], lang),
                                     target=_kr_number(kr["target_value"], kr["metric"], lang)),
                        "progress": progress, "progress_text": formats.rate(progress, lang, 0),
                        "tone": _progress_tone(progress)})
        known = [k["progress"] for k in node["key_results"] if k["progress"] is not None]
        progress = sum(known) / len(known) if known else None
        objectives.append({"id": node["objective_id"], "title": node["title"], "progress": progress,
                           "progress_text": formats.rate(progress, lang, 0), "tone": _progress_tone(progress),
                           "key_results": krs})
    return {"title": text("okr_title", lang), "hint": text("okr_hint", lang, period=_period_words(period, lang, today)),
            "tab": text("tab_okr", lang), "objectives": objectives,
            "empty": text("no_okr", lang)}


def _progress_tone(progress) -> str:
    if progress is None:
        return "none"
    return "good" if progress >= 0.7 else "fair" if progress >= 0.4 else "poor"


# --- the look-up metrics has no function for ---------------------------------------------

def ratings_between(cur, unit_id: str, start: dt.date, end: dt.date) -> tuple[int, int]:
    """(ratings, ratings with level >= 3) of officials in the unit's subtree rated in
    [start, end): the same days of an earlier month, for a running month's comparison."""
    row = cur.execute(
        """SELECT count(*), count(*) FILTER (WHERE r.level >= 3) FROM ratings r
           JOIN officials o ON o.official_id = r.official_id
           WHERE o.unit_id IN (SELECT descendant FROM unit_closure WHERE ancestor = ?)
             AND r.rated_at >= ? AND r.rated_at < ?""", [unit_id, start, end]).fetchone()
    return int(row[0] or 0), int(row[1] or 0)


# Moved to dashboard/metrics/attention.py (the pages' attention panel shares it); kept for importers.
overdue_officials = attention.overdue_officials
