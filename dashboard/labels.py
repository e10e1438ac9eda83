"""Codes from the data and the loader as words, in the visitor's language: unit kinds
("thanh_pho" -> "Thành phố"), load statuses ("loaded" -> "Đã nạp"), period codes ("2026-Q4" ->
"Quý 4/2026") and missing values (None -> "–", never the word "None").

A code without a label (a kind a source invented) is shown as plain text, underscores as spaces.
"""
from __future__ import annotations

from dashboard import formats, text
from dashboard.i18n import TEXT, t


def _coded(prefix: str, code, lang: str) -> str:
    if code is None or code == "":
        return formats.DASH
    key = f"{prefix}_{code}"
    return t(key, lang) if key in TEXT else text.label(str(code).replace("_", " "))


def unit_kind(kind, lang: str) -> str:
    return _coded("kind", kind, lang)


def load_status(status, lang: str) -> str:
    return _coded("load", status, lang)


def source(kind, lang: str) -> str:
    """An input kind of the data contract ("unit_evaluations" -> "Xếp loại tập thể")."""
    return _coded("source", kind, lang)


def period(p, lang: str) -> str:
    return formats.period_label(p, lang)


def value(v) -> str:
    """Any other value from the data: plain text, "–" for none."""
    return formats.DASH if v is None else text.label(v)
