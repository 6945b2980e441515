"""The SSRF guard: which addresses are refused, and proof that no socket reaches them.

The local server counts *accepted connections*, so "refused" means refused before a TCP
connection was made — not merely that the response was thrown away. It listens on 127.0.0.1
and ::1 with the same port, so the IPv6 spellings would reach it too if the guard let them.
"""

from __future__ import annotations

import socket

import pytest

from media_store.exceptions import BlockedURL, DownloadError
from media_store.fetch import ssrf
from media_store.fetch.downloader import Downloader
from media_store.fetch.ssrf import check_url, is_forbidden, redact, redact_text
from media_store.ingest.staging import StagedFile
from tests.support.http import LocalHTTPServer, redirect
from tests.support.media import png_bytes


@pytest.fixture
def server():
    with LocalHTTPServer() as running:
        running.serve("/", png_bytes(), "image/png")
        running.serve("/x.png", png_bytes(), "image/png")
        yield running


@pytest.fixture
def staged(tmp_path):
    with StagedFile(tmp_path / "stage", 1024 * 1024) as staging:
        yield staging


@pytest.fixture
def guarded():
    made = Downloader(allow_private=False, timeout=2)
    yield made
    made.close()


class FakeDNS:
    """``socket.getaddrinfo`` with chosen answers for chosen names (what a hostile DNS does); records lookups."""

    def __init__(self, real) -> None:
        self.real = real
        self.answers: dict[str, str] = {}
        self.asked: list[str] = []

    def getaddrinfo(self, host, port, *args, **kwargs):
        self.asked.append(host)
        return self.real(self.answers.get(host, host), port, *args, **kwargs)


@pytest.fixture
def resolver(monkeypatch) -> FakeDNS:
    dns = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    return dns


# -- the address policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # cloud metadata
        "0.0.0.0",
        "0.1.2.3",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "192.0.0.8",
        "198.18.0.1",
        "192.0.2.1",  # documentation ranges are not routable either
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo hiding 127.0.0.1
    ],
)
def test_internal_addresses_are_forbidden(address):
    assert is_forbidden(address) is True


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]
)
def test_public_addresses_are_allowed(address):
    assert is_forbidden(address) is False


def test_a_scoped_ipv6_address_is_forbidden():
    assert is_forbidden("fe80::1%1") is True


# -- URLs refused before any I/O --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "only http and https URLs can be downloaded, not 'file'"),
        ("ftp://example.com/x", "only http and https URLs can be downloaded, not 'ftp'"),
        ("gopher://127.0.0.1:70/_x", "only http and https URLs can be downloaded, not 'gopher'"),
        ("data:text/plain,hi", "only http and https URLs can be downloaded, not 'data'"),
        ("//example.com/x", "only http and https URLs can be downloaded, not 'a relative URL'"),
        ("http:///x", "the URL has no host"),
        ("http://[::1/x", "not a valid URL: Invalid IPv6 URL"),
    ],
)
def test_non_http_urls_are_refused_before_any_io(guarded, staged, resolver, monkeypatch, url, message):
    opened: list[tuple] = []
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: opened.append(address))

    with pytest.raises(BlockedURL) as raised:
        guarded.download(url, staged)

    assert str(raised.value) == message
    assert raised.value.http_status == 400
    assert resolver.asked == []
    assert opened == []


def test_http_and_https_urls_pass_the_url_check():
    check_url("http://example.com/a.png")
    check_url("HTTPS://example.com:8443/a.png?x=1")


# -- refused at the connection: zero sockets reach the server ----------------------------------------


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]", "[::1]", "0.0.0.0", "127.1", "2130706433"]
)
def test_loopback_in_any_spelling_is_refused_without_a_connection(server, guarded, staged, host):
    url = f"http://{host}:{server.port}/x.png"

    with pytest.raises(BlockedURL, match="a private or reserved address"):
        guarded.download(url, staged)

    assert server.connections == 0


def test_the_same_urls_reach_the_server_when_private_networks_are_allowed(server, staged):
    """The control for the test above: the counter does count, on both address families."""
    hosts = ["localhost", "127.0.0.1", "[::1]"] if server.ipv6 else ["localhost", "127.0.0.1"]
    allowed = Downloader(allow_private=True, timeout=2)
    for host in hosts:
        with StagedFile(staged.path.parent, 1024 * 1024) as each:
            allowed.download(f"http://{host}:{server.port}/x.png", each)
    allowed.close()

    assert server.connections == len(hosts)
    assert len(server.requests) == len(hosts)


def test_the_cloud_metadata_address_is_refused(guarded, staged, monkeypatch):
    opened: list[tuple] = []
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: opened.append(address))

    with pytest.raises(BlockedURL, match="169.254.169.254 resolves to 169.254.169.254"):
        guarded.download("http://169.254.169.254/latest/meta-data/iam/", staged)

    assert opened == []


def test_a_public_name_resolving_to_loopback_is_refused(server, guarded, staged, resolver):
    resolver.answers["public.example"] = "127.0.0.1"

    with pytest.raises(BlockedURL) as raised:
        guarded.download(f"http://public.example:{server.port}/x.png", staged)

    assert str(raised.value) == (
        f"refused to fetch http://public.example:{server.port}/x.png: "
        "public.example resolves to 127.0.0.1: a private or reserved address"
    )
    assert resolver.asked == ["public.example"]
    assert server.connections == 0


def test_every_redirect_hop_is_checked(staged, resolver, monkeypatch):
    """Hop 1 is a "public" host (127.0.0.2, allowed for this test only); it redirects to loopback."""
    real_is_forbidden = ssrf.is_forbidden
    monkeypatch.setattr(ssrf, "is_forbidden", lambda address: address != "127.0.0.2" and real_is_forbidden(address))
    resolver.answers["public.example"] = "127.0.0.2"
    with LocalHTTPServer(host="127.0.0.1") as internal, LocalHTTPServer(host="127.0.0.2") as public:
        internal.serve("/secret", b"internal data")
        public.route("/start", redirect(internal.url("/secret")))
        downloader = Downloader(allow_private=False, timeout=2)

        with pytest.raises(BlockedURL, match="127.0.0.1 resolves to 127.0.0.1: a private or reserved address"):
            downloader.download(f"http://public.example:{public.port}/start", staged)
        downloader.close()

        assert [request.path for request in public.requests] == ["/start"]
        assert internal.connections == 0


def test_environment_proxies_are_ignored(server, staged, monkeypatch):
    """A proxy would be the address we connect to, defeating the check (and would see credentials)."""
    with LocalHTTPServer() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        monkeypatch.setenv("http_proxy", proxy.url())
        downloader = Downloader(allow_private=True, timeout=2)

        downloader.download(server.url("/x.png"), staged)
        downloader.close()

        assert proxy.connections == 0
        assert len(server.requests) == 1


# -- secrets in URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@cdn.example/a.png?x=1", "https://***@cdn.example/a.png?x=1"),
        ("https://token@cdn.example:8443/a", "https://***@cdn.example:8443/a"),
        ("http://u:p@ss@host/x", "http://***@host/x"),
        ("http://user:pw@host:99999/x", "http://***@host:99999/x"),
        ("http://user:pw@[::1/x", "http://***@[::1/x"),
        ("https://cdn.example/a.png#frag", "https://cdn.example/a.png#frag"),
        ("https://cdn.example/path@version/a.png", "https://cdn.example/path@version/a.png"),
    ],
)
def test_redact_removes_user_and_password(url, expected):
    assert redact(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Failed to parse: http://u:pw@host:99999/x", "Failed to parse: http://***@host:99999/x"),
        ("Invalid URL 'https://tok@h/a': No host", "Invalid URL 'https://***@h/a': No host"),
        ("no url here", "no url here"),
    ],
)
def test_redact_text_removes_credentials_from_messages(text, expected):
    assert redact_text(text) == expected


# -- the vetted connection's own failures ---------------------------------------------------------------


def test_https_connections_are_vetted_too(server, guarded, staged):
    with pytest.raises(BlockedURL, match="a private or reserved address"):
        guarded.download(f"https://127.0.0.1:{server.port}/x.png", staged)

    assert server.connections == 0


def test_a_name_that_does_not_resolve_is_a_transient_failure(guarded, staged, monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)

    with pytest.raises(DownloadError, match="Failed to resolve 'media.example.invalid'") as raised:
        guarded.download("http://media.example.invalid/a.png", staged)

    assert raised.value.permanent is False


def test_a_connect_timeout_is_a_transient_failure(server, staged, monkeypatch):
    def black_hole(sock, address):
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket.socket, "connect", black_hole)

    with pytest.raises(DownloadError, match="connection to 127.0.0.1 timed out") as raised:
        Downloader(allow_private=True, timeout=1).download(server.url("/x.png"), staged)

    assert raised.value.permanent is False


def test_allowed_addresses_of_a_name_are_tried_and_blocked_ones_skipped(server, staged, resolver, monkeypatch):
    """``cdn.example`` has a loopback and a "public" address (127.0.0.3, allowed here, nothing listening)."""
    real_is_forbidden = ssrf.is_forbidden
    monkeypatch.setattr(ssrf, "is_forbidden", lambda address: address != "127.0.0.3" and real_is_forbidden(address))
    real = resolver.real
    resolver.real = lambda host, *args, **kwargs: (
        real("127.0.0.1", *args, **kwargs) + real("127.0.0.3", *args, **kwargs)
    )

    with pytest.raises(DownloadError, match="Connection refused") as raised:
        Downloader(allow_private=False, timeout=1).download(f"http://cdn.example:{server.port}/x.png", staged)

    assert not isinstance(raised.value, BlockedURL)
    assert raised.value.permanent is False
    assert server.connections == 0
