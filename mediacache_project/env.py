"""Strict parsing of environment variables for ``settings.py``.

Every setting mediacache reads comes from the environment exactly once, at start-up.
A value that does not parse must stop the process with one line that names the variable —
a silently ignored ``MEDIA_REDIS_TTL=abc`` is how caches end up with no expiry in production.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class Env:
    """Typed accessors over a mapping (``os.environ`` by default, a dict in tests).

    A bad value does not raise at once: it is recorded (one line naming the variable) and the
    default is returned, so that ``exit_if_invalid()`` can report every bad variable in one go
    instead of making the operator fix them one restart at a time.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.errors: list[str] = []

    def invalid(self, name: str, value: str, expected: str) -> None:
        """Record a bad value (the caller then returns its default).

        The line is printed at start-up, so URLs in it lose their password and signed query
        values first: a mistyped ``DATABASE_URL`` must not put its password in the logs.
        """
        from media_store.fetch.ssrf import redact, redact_text

        self.errors.append(redact_text(f"invalid {name}={redact(value)!r}: expected {redact_text(expected)}"))

    def exit_if_invalid(self) -> None:
        """Stop start-up with one line per bad variable (SystemExit prints it to stderr)."""
        if self.errors:
            raise SystemExit("\n".join(f"mediacache: {line}" for line in self.errors))

    def raw(self, name: str) -> str | None:
        """The stripped value, or None when unset or blank (blank means "use the default")."""
        value = self.environ.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def str(self, name: str, default: str = "") -> str:
        value = self.raw(name)
        return default if value is None else value

    def bool(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        word = value.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        self.invalid(name, value, "true or false")
        return default

    def int(self, name: str, default: int, *, minimum: int = 0) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value.replace("_", ""))
        except ValueError:
            number = None
        if number is None or number < minimum:
            self.invalid(name, value, f"a whole number >= {minimum}")
            return default
        return number

    def float(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not (math.isfinite(number) and number >= minimum):
            self.invalid(name, value, f"a number >= {minimum}")
            return default
        return number

    def list(self, name: str, default: list[str]) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def networks(self, name: str) -> list[str]:
        """``10.0.0.0/8,192.168.1.7`` (IPv4/IPv6 addresses or networks), normalised."""
        import ipaddress

        networks = []
        for item in self.list(name, []):
            try:
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                self.invalid(name, item, "IP addresses or CIDR networks separated by commas")
        return networks

    def host_ports(self, name: str) -> list[tuple[str, int]]:
        """``host:port,host:port`` (``[::1]:26379`` for IPv6), e.g. ``REDIS_SENTINELS``."""
        from media_store.tiers.connections import parse_host_ports

        value = self.raw(name)
        if value is None:
            return []
        try:
            return parse_host_ports(value)
        except ValueError as error:
            self.invalid(name, value, f"host:port pairs separated by commas ({error})")
            return []

    def seconds_map(self, name: str) -> dict[str, int]:
        """``name=seconds,name=seconds`` (e.g. ``CACHE_TTLS=profiles=300,contacts=60``)."""
        value = self.raw(name)
        if value is None:
            return {}
        result: dict[str, int] = {}
        for item in value.split(","):
            key, _, seconds = item.strip().partition("=")
            if not key.strip() or not seconds.strip().isdigit() or int(seconds) <= 0:
                self.invalid(name, value, "name=seconds pairs separated by commas, seconds > 0")
                return {}
            result[key.strip()] = int(seconds)
        return result

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.str(name, default).lower()
        if value not in choices:
            self.invalid(name, value, " or ".join(choices))
            return default
        return value

    def url(self, name: str, default: str, schemes: tuple[str, ...]) -> str:
        """A URL whose scheme is one of ``schemes`` (empty stays empty when that is the default)."""
        value = self.str(name, default)
        if not value:
            return value
        parts = urlsplit(value)
        has_location = parts.netloc or (parts.scheme == "unix" and parts.path)
        if parts.scheme not in schemes or not has_location:
            self.invalid(name, value, "a URL starting with " + " or ".join(f"{s}://" for s in schemes))
            return default
        return value
