"""`python -m dashboard COMMAND`: kpis (metrics as JSON), plus the server and user commands."""
import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["kpis"]:
        from dashboard.metrics.cli import main as kpis_main

        return kpis_main(argv[1:])
    print("usage: python -m dashboard kpis --db PATH (--unit ID | --official ID) --period YYYY-MM "
          "[--as-of YYYY-MM-DD] [--format json|table]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
