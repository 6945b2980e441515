"""docs/reliability.png: requests/s and errors/s over the run, each fault window shaded and named."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from chaos.report import is_error


def plot(records: list[dict], windows: list[dict], total: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file
    import matplotlib.pyplot as plt

    seconds = int(total)  # whole seconds only: the last, partial one would look like a collapse
    requests = Counter(int(r["t"]) for r in records)
    errors = Counter(int(r["t"]) for r in records if is_error(r))
    wrong = Counter(int(r["t"]) for r in records if r["wrong"])
    xs = list(range(seconds))
    figure, axis = plt.subplots(figsize=(12, 4.5), dpi=110)
    axis.plot(xs, [requests[x] for x in xs], color="#2b6cb0", linewidth=1.2, label="requests/s")
    axis.plot(xs, [errors[x] for x in xs], color="#c53030", linewidth=1.2, label="errors/s (non-success answers)")
    if wrong:
        axis.plot(xs, [wrong[x] for x in xs], color="black", linewidth=2, label="wrong bodies/s")
    top = max([requests[x] for x in xs] + [1])
    for index, window in enumerate(windows):
        axis.axvspan(window["start"], max(window["end"], window["start"] + 0.8), color="#ed8936", alpha=0.25)
        axis.text(window["start"], top * (1.02 + 0.07 * (index % 2)), window["name"], fontsize=7, rotation=0)
    axis.set_xlim(0, seconds)
    axis.set_ylim(0, top * 1.2)
    axis.set_xlabel("seconds since the load started")
    axis.set_ylabel("per second")
    axis.legend(loc="lower left", fontsize=8)
    axis.set_title("make chaos: traffic through the edge while faults happen (shaded)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
