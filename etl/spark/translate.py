"""DuckDB SQL → Spark SQL, by SQLGlot, plus the one rule where the two engines' meanings differ.

`a / b` is a floating-point division in DuckDB whatever its operands (4.0 is a DECIMAL there
too, and DuckDB divides decimals as DOUBLE). Spark divides decimals exactly, to a scale of its
own choosing: task_score = 70 * points4 / 4.0 / tasks_due would come out rounded differently.
Every division therefore gets DOUBLE operands, which is what DuckDB computes.
"""
from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp


def _double_division(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Div):
        for side in ("this", "expression"):
            operand = node.args[side]
            if not (isinstance(operand, exp.Cast) and operand.to.this == exp.DataType.Type.DOUBLE):
                node.set(side, exp.cast(operand, exp.DataType.build("DOUBLE")))
    return node


@lru_cache(maxsize=256)
def to_spark(duckdb_sql: str) -> str:
    """The same query in Spark's dialect."""
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    return tree.transform(_double_division).sql(dialect="spark")
