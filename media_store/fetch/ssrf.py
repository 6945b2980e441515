"""SSRF guard: refuse to connect to internal addresses, checked on the address we connect to.

Checking a URL's host name is not enough: DNS can point a public-looking name at 127.0.0.1,
a redirect can lead to ``http://169.254.169.254/`` (cloud metadata), and an address can hide as
``::ffff:10.0.0.1``. So the check sits where the socket is made: urllib3 connections resolve the
host themselves, and every resolved address is vetted *before* a socket is opened to it — on
every redirect hop, since each hop makes its own connection. Only publicly routable unicast
addresses pass, unless ``DOWNLOAD_ALLOW_PRIVATE_NETWORKS`` is set.

The same layer applies the fetch's overall deadline (``fetch.deadline``): every request and
redirect hop gets at most the time left as its connect/read timeouts, and the DNS lookup —
which has no timeout of its own in the C library — runs in a small thread pool so a hanging
resolver costs at most the time left, not forever.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from media_store.exceptions import BlockedURL
from media_store.fetch.deadline import current as current_deadline

ALLOWED_SCHEMES = ("http", "https")
_USERINFO = re.compile(r"//[^/?#]*@")
_USERINFO_IN_TEXT = re.compile(r"//[^/?#\s'\"]*@")
# Query parameters that carry a credential or a signature (S3/GCS presigned URLs, Meta's CDN
# ``oh``, OAuth tokens): their values never reach a log line or the database.
SECRET_PARAMS = frozenset(
    {
        "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature", "x-goog-credential",
        "signature", "sig", "oh", "token", "access_token", "auth", "key", "api_key", "apikey", "password",
        "secret", "client_secret", "se", "sv", "sp", "skoid", "sktid",
    }
)  # fmt: skip
_SECRET_IN_TEXT = re.compile(
    r"(?i)([?&](?:" + "|".join(re.escape(name) for name in sorted(SECRET_PARAMS)) + r")=)[^&\s'\"#]*"
)
_RESOLVER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dns")

# Explicit, so the policy reads as a list (is_global covers them, this documents them).
FORBIDDEN_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/128",  # unspecified
        "::1/128",  # loopback
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
    )
)


class BlockedAddress(Exception):
    """Raised inside the connection layer; not an OSError, so urllib3 never retries it."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv4-mapped, 6to4, Teredo or NAT64 IPv6 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_forbidden(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for any address that is not publicly routable unicast (in any of its disguises)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return True
        inner = embedded_ipv4(ip)
        if inner is not None and is_forbidden(inner):
            return True
    if any(ip in network for network in FORBIDDEN_NETWORKS if network.version == ip.version):
        return True
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> None:
    """Refuse non-http(s) URLs and URLs without a host before any work is done."""
    try:
        parts = urlsplit(url)
    except ValueError as error:  # e.g. an unclosed "[" in the host
        raise BlockedURL(f"not a valid URL: {error}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise BlockedURL(f"only http and https URLs can be downloaded, not {parts.scheme or 'a relative URL'!r}")
    if not parts.hostname:
        raise BlockedURL("the URL has no host")


def redact(url: str) -> str:
    """The URL without user:password and without the values of signed query parameters
    (``X-Amz-Signature``, ``oh``, ``token``, … — see ``SECRET_PARAMS``): safe to log and store."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _SECRET_IN_TEXT.sub(r"\1***", _USERINFO.sub("//***@", url))
    netloc = parts.netloc
    if "@" in netloc:
        # Keep host:port exactly as written: ``parts.port`` raises on a malformed port, and a
        # URL that failed to parse is exactly the kind that ends up in an error message.
        netloc = f"***@{netloc.rpartition('@')[2]}"
    query = _redact_query(parts.query)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _redact_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in SECRET_PARAMS for name, _value in pairs):
        return query
    return urlencode([(name, "***" if name.lower() in SECRET_PARAMS else value) for name, value in pairs], safe="*")


def redact_text(text: str) -> str:
    """``text`` with the user:password and signed query values of every URL in it removed
    (library error messages quote URLs)."""
    return _SECRET_IN_TEXT.sub(r"\1***", _USERINFO_IN_TEXT.sub("//***@", text))


def resolve(conn: HTTPConnection) -> list:
    """``getaddrinfo`` for the connection's host, bounded by its connect timeout and the deadline."""
    host = conn._dns_host
    timeout = conn.timeout if isinstance(conn.timeout, (int, float)) else None
    deadline = current_deadline()
    if deadline is not None:
        timeout = deadline.timeout(timeout)
    try:
        ipaddress.ip_address(host.strip("[]"))
        literal = True
    except ValueError:
        literal = False
    if literal or timeout is None:  # an address literal needs no lookup
        return socket.getaddrinfo(host, conn.port, 0, socket.SOCK_STREAM)
    future = _RESOLVER.submit(socket.getaddrinfo, host, conn.port, 0, socket.SOCK_STREAM)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        raise ConnectTimeoutError(conn, f"DNS lookup of {conn.host} took longer than {timeout:g}s") from None


def _connect_vetted(conn: HTTPConnection, allow_private: bool) -> socket.socket:
    """Resolve ``conn``'s host, vet every address, connect only to an allowed one."""
    try:
        candidates = resolve(conn)
    except socket.gaierror as error:
        raise NameResolutionError(conn.host, conn, error) from error
    blocked: list[str] = []
    last_error: OSError | None = None
    for family, socktype, proto, _name, sockaddr in candidates:
        if not allow_private and is_forbidden(sockaddr[0]):
            blocked.append(sockaddr[0])
            continue
        sock = socket.socket(family, socktype, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(conn.timeout)
            sock.connect(sockaddr)
            return sock
        except TimeoutError as error:
            sock.close()
            raise ConnectTimeoutError(conn, f"connection to {conn.host} timed out") from error
        except OSError as error:
            sock.close()
            last_error = error
    if last_error is not None:
        raise NewConnectionError(conn, f"failed to establish a new connection: {last_error}")
    raise BlockedAddress(f"{conn.host} resolves to {', '.join(blocked)}: a private or reserved address")


@cache
def _pool_classes(allow_private: bool) -> dict[str, type]:
    class VettedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _connect_vetted(self, allow_private)

    class VettedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _connect_vetted(self, allow_private)

    class VettedHTTPPool(HTTPConnectionPool):
        ConnectionCls = VettedHTTPConnection

    class VettedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = VettedHTTPSConnection

    return {"http": VettedHTTPPool, "https": VettedHTTPSPool}


class VettedAdapter(HTTPAdapter):
    """A requests adapter whose connections pass through ``_connect_vetted``."""

    def __init__(self, *, allow_private: bool, **kwargs) -> None:
        self.allow_private = allow_private
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.allow_private)

    def send(self, request, **kwargs):
        """Each request — and each redirect hop, which requests sends anew — gets at most the
        time left before the fetch's deadline as its connect and read timeouts."""
        deadline = current_deadline()
        if deadline is not None:
            connect, read = _split_timeout(kwargs.get("timeout"))
            kwargs["timeout"] = (deadline.timeout(connect), deadline.timeout(read))
        return super().send(request, **kwargs)


def _split_timeout(timeout) -> tuple[float | None, float | None]:
    if isinstance(timeout, tuple):
        return timeout[0], timeout[1]
    if isinstance(timeout, (int, float)):
        return timeout, timeout
    return None, None


def safe_session(*, allow_private: bool, max_redirects: int = 5, user_agent: str) -> requests.Session:
    """A requests session that can only reach public addresses (unless ``allow_private``).

    Environment proxies are ignored (``trust_env``): a proxy would make the connected address
    the proxy's, defeating the check, and would see URLs with credentials.
    """
    session = requests.Session()
    session.trust_env = False
    session.max_redirects = max_redirects
    session.headers["User-Agent"] = user_agent
    adapter = VettedAdapter(allow_private=allow_private, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
