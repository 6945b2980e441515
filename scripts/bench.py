#!/usr/bin/env python
"""`make bench` entry point: see bench/run.py (never part of `make test`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import main  # noqa: E402

if __name__ == "__main__":
    main()
