"""`make bench` — placeholder until the benchmark issue lands.

The benchmark described in ../shared/DESIGN.md ("Benchmarks") is not built yet; this stub
says so and exits non-zero so nobody mistakes it for a result.
"""

import sys

sys.exit("make bench: the benchmark is not built yet (see the benchmark issue); nothing was measured")
