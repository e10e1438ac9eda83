"""Pure functions over a DuckDB cursor: every KPI and rule of metrics.md, and what pages need around them.

Each function takes the cursor first and binds every value as a parameter. Modules:
- definitions: the KPI formulas over rollup sums (one place for every rate)
- kpis:   unit_kpis / official_kpis  -> the metrics.md JSON object
- rules:  violations and warnings
- trends: 13-month series; compare: children side by side, officials ranked
"""
