"""Thước đo dashboard: Flask + Dash pages over the DuckDB rollups kept by the ETL."""
