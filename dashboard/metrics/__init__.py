"""Pure functions over a DuckDB cursor: every KPI and rule of metrics.md, and what pages need around them.

Each function takes the cursor first and binds every value as a parameter. Modules:
- definitions: the KPI formulas over rollup sums (one place for every rate)
- kpis:     unit_kpis / official_kpis (and *_with_previous for a page's deltas) -> the metrics.md object
- snapshot: a unit's or official's months read at once; the object is assembled there
- subtrees: the subtree rollups held in memory once per data version, shared by every viewer
- rules:    violations and warnings
- trends:   13-month series; compare: children side by side, officials ranked
"""
