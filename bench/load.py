"""Driving load from a separate process and reading its numbers.

wrk for everything it can do; ApacheBench (``ab -i``) for HEAD, because wrk's response parser
waits for a body after a HEAD and every request times out. A HEAD run is compared with a floor
measured by the same tool.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Load:
    """One run's result: requests/s and latency percentiles in milliseconds."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def binary(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"make bench: {name} is not installed (apt-get install -y {package})")
    return found


def wrk(url: str, *, seconds: float, connections: int, threads: int, headers: dict[str, str] | None = None) -> Load:
    """GET ``url`` for ``seconds`` with wrk (it stops by itself; the timeout is a safety net)."""
    args = [binary("wrk", "wrk"), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    result = subprocess.run([*args, "--timeout", "10s", url], capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr or result.stdout}")
    return parse_wrk(result.stdout)


def ab(url: str, *, seconds: float, connections: int, head: bool = False) -> Load:
    """``url`` for ``seconds`` with ApacheBench, keep-alive on; ``head`` sends HEAD (``-i``)."""
    args = [binary("ab", "apache2-utils"), "-q", "-k", "-c", str(connections), "-t", f"{seconds:g}", "-n", "10000000"]
    if head:
        args.append("-i")
    result = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise RuntimeError(f"ab failed: {result.stderr or result.stdout}")
    return parse_ab(result.stdout)


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(output: str) -> Load:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if not (rps and p50 and p99):
        raise ValueError(f"could not read wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Load(
        float(rps.group(1)),
        _milliseconds(p50.group(1)),
        _milliseconds(p99.group(1)),
        errors + (int(non2xx.group(1)) if non2xx else 0),
    )


def parse_ab(output: str) -> Load:
    rps = re.search(r"Requests per second:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\d+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\d+)", output, re.MULTILINE)
    failed = re.search(r"Failed requests:\s+(\d+)", output)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", output)
    if not (rps and p50 and p99 and failed):
        raise ValueError(f"could not read ab's output:\n{output}")
    return Load(
        float(rps.group(1)),
        float(p50.group(1)),
        float(p99.group(1)),
        int(failed.group(1)) + (int(non2xx.group(1)) if non2xx else 0),
    )
