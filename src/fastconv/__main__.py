"""``python -m fastconv``: the command line (see ``fastconv.bench.cli``)."""

from fastconv.bench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
