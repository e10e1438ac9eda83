"""Small reusable layout pieces: page frame, KPI tiles, tables, figures."""
