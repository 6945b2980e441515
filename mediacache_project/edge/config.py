"""Render deploy/nginx/mediacache.conf.template from the settings — the one nginx config.

``make edge``, the e2e tests and the benchmark all render it here, and production renders the
same file (``python -m mediacache_project.edge render``), so what is tested is what runs. The
values come from the Django settings (the same environment gunicorn reads), plus where the
app listens, which only the launcher knows.
"""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template import Context, Engine

from media_store.exceptions import PayloadTooLarge
from media_store.serving.edge import CONTENT_SECURITY_POLICY, EDGE_HEADER, edge_secret

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "mediacache.conf.template"
MULTIPART_SLACK = 64 * 1024  # an upload of exactly UPLOAD_MAX_BYTES still fits with its framing
TEMP_FOLDERS = ("client_body", "proxy_temp", "fastcgi_temp", "uwsgi_temp", "scgi_temp")


class EdgeConfigError(Exception):
    """A setting the edge cannot run with (one line, for the operator)."""


@dataclass(frozen=True)
class EdgePaths:
    """Where one nginx instance keeps its files: ``run_dir`` (pid, temp) and ``cache_dir``."""

    root: Path

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def conf(self) -> Path:
        return self.root / "nginx.conf"

    def create(self) -> None:
        for folder in (self.run_dir, self.cache_dir, *(self.run_dir / name for name in TEMP_FOLDERS)):
            folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # the rendered file holds the edge secret


def context(upstream: str | Sequence[str], paths: EdgePaths) -> dict:
    """Every value the template uses, from the settings. ``upstream``: where the app listens,
    ``unix:/path`` or ``host:port`` — or several app nodes, as a list of them."""
    upstreams = [upstream] if isinstance(upstream, str) else list(upstream)
    if not upstreams:
        raise EdgeConfigError("no upstream: name at least one app server (unix:/path or host:port)")
    tls = bool(settings.EDGE_TLS_CERT)
    if tls:
        for name in ("EDGE_TLS_CERT", "EDGE_TLS_KEY"):
            if not Path(getattr(settings, name)).is_file():
                raise EdgeConfigError(f"{name}={getattr(settings, name)!r}: no such file (a PEM path)")
    for name, value in [
        *(("upstream", address) for address in upstreams),
        ("MEDIA_CACHE_DIR", settings.MEDIA_CACHE_DIR),
    ]:
        if any(char in str(value) for char in " ;{}\"'\n"):
            raise EdgeConfigError(f"{name}={value!r}: spaces, quotes, braces and ';' cannot go into nginx.conf")
    proxy_headers = [
        ("Host", "$http_host"),  # with its port: Django compares it with the Origin of admin forms
        ("Connection", '""'),  # keep-alive to the app
        ("X-Forwarded-For", "$remote_addr"),  # the real client (after set_real_ip_from), never a client's claim
        ("X-Real-IP", "$remote_addr"),
        ("X-Forwarded-Proto", "$forwarded_proto"),
        (EDGE_HEADER, edge_secret()),
    ]
    media_headers = [
        ("Content-Security-Policy", f'"{CONTENT_SECURITY_POLICY}"'),
        ("X-Content-Type-Options", "nosniff"),
        ("Strict-Transport-Security", "$hsts"),
    ]
    return {
        # Started as root, nginx would run its workers as "nobody"; they must read the disk-tier
        # files the app writes (mode 0600), so they run as the app's user instead.
        "user": pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else "",
        "worker_processes": "auto",
        "worker_connections": 4096,
        "error_log_level": "warn",
        "run_dir": paths.run_dir,
        "cache_dir": paths.cache_dir,
        "access_log": _access_log(settings.EDGE_ACCESS_LOG),
        "host": settings.EDGE_HOST,
        "port": settings.EDGE_PORT,
        "tls": tls,
        "tls_port": settings.EDGE_TLS_PORT,
        "tls_cert": settings.EDGE_TLS_CERT,
        "tls_key": settings.EDGE_TLS_KEY,
        "trusted_proxies": settings.EDGE_TRUSTED_PROXIES,
        "connections_per_ip": settings.EDGE_CONNECTIONS_PER_IP,
        "client_header_timeout": 10,
        "client_body_timeout": 30,
        "send_timeout": 60,
        "keepalive_timeout": 30,
        "keepalive_requests": 1000,
        "client_max_body_size": settings.UPLOAD_MAX_BYTES + MULTIPART_SLACK,
        # nginx's own 413 (a body far over client_max_body_size) says what the app's would
        "too_large_json": json.dumps(
            {
                "detail": f"the request body is larger than the limit of {settings.UPLOAD_MAX_BYTES} bytes",
                "code": PayloadTooLarge.code,
            }
        ),
        "proxy_max_temp_file_size": "1024m",
        "upstreams": upstreams,
        # One app server is never taken out (there is no other to send to); of several, one that
        # failed is skipped for a moment, and a request it failed before answering goes to the next.
        "upstream_failover": "max_fails=0" if len(upstreams) == 1 else "max_fails=1 fail_timeout=2s",
        "upstream_timeout": int(os.environ.get("GUNICORN_TIMEOUT", "120")),
        "cache_max_bytes": settings.EDGE_CACHE_MAX_BYTES,
        "keys_zone_mb": 16,  # ~128,000 keys
        "cache_inactive": max(3600, settings.MEDIA_EDGE_TTL),
        "edge_ttl": settings.MEDIA_EDGE_TTL,
        "lock_age_ms": 1000,  # a fill slower than this lets one more request through to the app
        "lock_timeout_ms": int(settings.MEDIA_FILL_WAIT_SECONDS * 1000),
        "retry_after": settings.MEDIA_RETRY_AFTER_SECONDS,
        "media_cache_dir": Path(settings.MEDIA_CACHE_DIR).resolve(),
        "static_root": Path(settings.STATIC_ROOT).resolve(),
        "proxy_headers": proxy_headers,
        "media_headers": media_headers,
    }


def render(upstream: str | Sequence[str], paths: EdgePaths) -> str:
    engine = Engine(autoescape=False, string_if_invalid="<<MISSING>>")
    text = engine.from_string(TEMPLATE.read_text()).render(Context(context(upstream, paths), autoescape=False))
    text = text.lstrip("\n")  # the template's own {# comments #}
    if "<<MISSING>>" in text:
        raise EdgeConfigError("deploy/nginx template uses a value config.context() does not provide")
    return text


def write(upstream: str | Sequence[str], paths: EdgePaths) -> Path:
    """Render into ``paths.conf`` (mode 0600: it holds the edge secret) and make nginx's folders."""
    paths.create()
    text = render(upstream, paths)
    descriptor = os.open(paths.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    return paths.conf


def _access_log(value: str) -> str:
    return "off" if value.lower() in ("off", "0", "false", "no") else f"{value} edge"
