"""The nine input kinds of data-contract.md, declared once: columns, key, write mode, references.

The loader turns these declarations into one set-based SQL validation per file; no kind
has loading code of its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Write modes
UPSERT = "upsert"            # the latest file replaces the row
LATEST_WINS = "latest_wins"  # the row with the newest updated_at wins
INSERT_ONLY = "insert_only"  # identical repeat = duplicate, different row with the same key = conflict

RATINGS = ("HTXS", "HTT", "HT", "KHT")  # best first

# KPI keys of metrics.md that a key result may track.
KPI_METRICS = (
    "officials_total", "tasks_due", "tasks_done", "tasks_on_time", "on_time_rate",
    "completion_rate", "overdue_open", "task_score", "ratings_count", "satisfaction_rate",
    "satisfaction_mean", "dissatisfied_count", "rated_officials", "pending_evaluations",
)


@dataclass(frozen=True)
class Col:
    """One contract column. `type` is one of: id, text, date, timestamp, int, float, bool,
    choice, rating, period, objective_period."""

    name: str
    type: str = "text"
    required: bool = False
    default: object = None
    choices: tuple[str, ...] = ()
    low: float | None = None      # inclusive range for numbers
    high: float | None = None
    range_reason: str = "out_of_range"
    # Text: names, titles and positions at most 200 characters on one line; comments and
    # notes (`free`) at most 2,000 and may hold tabs and line breaks (data-contract.md).
    free: bool = False

    @property
    def max_chars(self) -> int:
        return 2000 if self.free else 200


@dataclass(frozen=True)
class Ref:
    """A column that must name an existing row of another kind (else `reason`, replayable)."""

    column: str
    table: str
    key: str
    reason: str


@dataclass(frozen=True)
class Kind:
    name: str
    table: str
    columns: tuple[Col, ...]
    key: tuple[str, ...]
    mode: str
    refs: tuple[Ref, ...] = ()
    order_by: str | None = None   # LATEST_WINS: the column whose newest value wins
    checks: tuple[tuple[str, str, str], ...] = field(default=())  # (sql condition of a BAD row, reason, detail)
    # Tables of millions of rows carry key_hash, a 64-bit hash of the key, so the loader finds
    # a file's stored rows by an integer semi join that DuckDB filters inside the scan
    # (0.2 s for a city's 30M tasks, against 1.5 s joining on the text key).
    hashed_key: bool = False

    def key_hash_sql(self, alias: str = "") -> str:
        """The key_hash of a row: the high 64 bits of the key's MD5, stable across DuckDB
        versions, unlike hash() (md5_number_lower is the same value, five times slower)."""
        if len(self.key) != 1:
            raise ValueError(f"{self.name}: key_hash is defined for one-column keys")
        return f"(md5_number({alias + '.' if alias else ''}{self.key[0]}) >> 64)::UBIGINT"

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)


def _evaluation_columns(owner: Col) -> tuple[Col, ...]:
    return (
        Col("event_id", "id", required=True),
        owner,
        Col("period", "period", required=True),
        Col("stage", "choice", required=True, choices=("self", "review", "final", "cancel")),
        Col("score", "float", low=0, high=100, range_reason="score_out_of_range"),
        Col("rating", "rating"),
        Col("actor_id", "id"),
        Col("acted_at", "timestamp", required=True),
        Col("note", "text", free=True),
    )


_SCORE_REQUIRED = ("stage <> 'cancel' AND score IS NULL", "missing_value",
                   "'score is required unless stage is cancel'")

KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("units", "units", (
        Col("unit_id", "id", required=True),
        Col("parent_id", "id"),
        Col("name", "text", required=True),
        Col("kind", "text"),
    ), key=("unit_id",), mode=UPSERT,
        refs=(Ref("parent_id", "units", "unit_id", "unknown_unit"),)),
    Kind("officials", "officials", (
        Col("official_id", "id", required=True),
        Col("unit_id", "id", required=True),
        Col("full_name", "text", required=True),
        Col("position", "text"),
        Col("is_head", "bool", default=False),
        Col("active", "bool", default=True),
    ), key=("official_id",), mode=UPSERT,
        refs=(Ref("unit_id", "units", "unit_id", "unknown_unit"),)),
    Kind("tasks", "tasks", (
        Col("task_id", "id", required=True),
        Col("official_id", "id", required=True),
        Col("title", "text", required=True),
        Col("origin", "choice", choices=("assigned", "registered")),
        Col("assigned_at", "date", required=True),
        Col("due_at", "date", required=True),
        Col("completed_at", "date"),
        Col("status", "choice", required=True, choices=("open", "done", "cancelled")),
        Col("quality_failures", "int", default=0, low=0, range_reason="negative_quality_failures"),
        Col("updated_at", "timestamp", required=True),
    ), key=("task_id",), mode=LATEST_WINS, order_by="updated_at", hashed_key=True,
        refs=(Ref("official_id", "officials", "official_id", "unknown_official"),),
        checks=(
            ("status = 'done' AND completed_at IS NULL", "completed_at_missing",
             "'status is done but completed_at is empty'"),
            ("status <> 'done' AND completed_at IS NOT NULL", "completed_at_not_done",
             "'completed_at is set but status is ' || status"),
            ("due_at < assigned_at", "due_before_assigned",
             "'due_at ' || due_at || ' is before assigned_at ' || assigned_at"),
        )),
    Kind("ratings", "ratings", (
        Col("rating_id", "id", required=True),
        Col("official_id", "id", required=True),
        Col("counter_id", "id"),
        Col("procedure_code", "text"),
        Col("rated_at", "timestamp", required=True),
        Col("level", "int", required=True, low=1, high=4, range_reason="level_out_of_range"),
        Col("reason", "choice", choices=("cho_lau", "nghiep_vu", "thai_do", "khac")),
        Col("comment", "text", free=True),
    ), key=("rating_id",), mode=INSERT_ONLY, hashed_key=True,
        refs=(Ref("official_id", "officials", "official_id", "unknown_official"),)),
    Kind("evaluations", "evaluations",
         _evaluation_columns(Col("official_id", "id", required=True)),
         key=("event_id",), mode=INSERT_ONLY, hashed_key=True,
         refs=(Ref("official_id", "officials", "official_id", "unknown_official"),),
         checks=(_SCORE_REQUIRED,)),
    Kind("unit_evaluations", "unit_evaluations",
         _evaluation_columns(Col("unit_id", "id", required=True)),
         key=("event_id",), mode=INSERT_ONLY,
         refs=(Ref("unit_id", "units", "unit_id", "unknown_unit"),),
         checks=(_SCORE_REQUIRED,)),
    Kind("objectives", "objectives", (
        Col("objective_id", "id", required=True),
        Col("unit_id", "id", required=True),
        Col("period", "objective_period", required=True),
        Col("title", "text", required=True),
        Col("parent_objective_id", "id"),
    ), key=("objective_id",), mode=UPSERT,
        refs=(Ref("unit_id", "units", "unit_id", "unknown_unit"),
              Ref("parent_objective_id", "objectives", "objective_id", "unknown_objective"))),
    Kind("key_results", "key_results", (
        Col("kr_id", "id", required=True),
        Col("objective_id", "id", required=True),
        Col("title", "text", required=True),
        Col("metric", "choice", required=True, choices=("manual",) + KPI_METRICS),
        Col("start_value", "float"),
        Col("target_value", "float", required=True),
        Col("direction", "choice", default="up", choices=("up", "down")),
    ), key=("kr_id",), mode=UPSERT,
        refs=(Ref("objective_id", "objectives", "objective_id", "unknown_objective"),)),
    Kind("checkins", "checkins", (
        Col("kr_id", "id", required=True),
        Col("checked_at", "timestamp", required=True),
        Col("value", "float", required=True),
        Col("confidence", "float", low=0, high=1, range_reason="confidence_out_of_range"),
        Col("note", "text", free=True),
    ), key=("kr_id", "checked_at"), mode=INSERT_ONLY,
        refs=(Ref("kr_id", "key_results", "kr_id", "unknown_key_result"),)),
)}


def kind_of_file(name: str) -> Kind | None:
    """The kind a file name starts with (longest match first: unit_evaluations before units)."""
    lower = name.lower()
    for kind_name in sorted(KINDS, key=len, reverse=True):
        if lower.startswith(kind_name):
            rest = lower[len(kind_name):]
            if rest == "" or not rest[0].isalpha():
                return KINDS[kind_name]
    return None
