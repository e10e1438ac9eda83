"""The monthly A4 report of a unit (issue 13, items 24-26): `python -m dashboard report`, the
unit page's button (`/report/<unit>.pdf?period=`) and the digests' attachment.

- content.py: what the report holds, from dashboard/metrics only (rollups), as plain data
- charts.py:  the 13-month trend as a small SVG drawn here (no browser, no kaleido)
- render.py:  the HTML (every name escaped) and the PDF (WeasyPrint: pango, no browser)
- web.py:     the download route, scope-checked and audited as an export
- cli.py:     the command

Why WeasyPrint: it is a pip wheel that needs only pango (Debian's libpango-1.0-0 and
libpangoft2-1.0-0, with fonts-dejavu-core for Vietnamese glyphs), renders in-process in about a
second and a few tens of MB; Playwright's page.pdf() would need Chromium beside `make run` and a
browser process per report.
"""
