"""``python -m agora ...`` is the `agora` console script: same parser, same exit status."""

from reports.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
