"""Thước đo ETL: loads contract files (data-contract.md) into DuckDB and keeps rollups current."""
