"""One download attempt (``fetch.downloader.Downloader``) against a real local HTTP server.

Covers what the attempt itself guarantees: streaming into a staged file, the byte cap on the
bytes actually received, timeouts and the total deadline, redirects, and the classification
of failures into permanent and transient (which the retry policy and negative cache rely on).
"""

from __future__ import annotations

import hashlib
import time

import pytest

from media_store.exceptions import BlockedURL, DownloadError, PayloadTooLarge
from media_store.fetch.downloader import USER_AGENT, Downloader, Fetched
from media_store.ingest.staging import StagedFile
from tests.support.http import close_delimited, drip, raw, redirect
from tests.support.media import jpeg_bytes, pdf_bytes, random_bytes
from tests.support.servers import free_port

CAP = 64 * 1024


@pytest.fixture
def downloader():
    made = Downloader(allow_private=True, timeout=2)
    yield made
    made.close()


@pytest.fixture
def staged(tmp_path):
    with StagedFile(tmp_path / "stage", CAP) as staging:
        yield staging


def stage_files(tmp_path) -> list[str]:
    return sorted(path.name for path in (tmp_path / "stage").iterdir())


# -- success -------------------------------------------------------------------------------------


def test_it_streams_the_body_into_the_staged_file(server, downloader, staged):
    data = jpeg_bytes()
    url = server.serve("/cat.jpg", data, "image/jpeg")

    fetched = downloader.download(url, staged)

    assert fetched == Fetched(url=url, status=200, content_type="image/jpeg", size=len(data))
    assert staged.finish().sha256 == hashlib.sha256(data).hexdigest()
    assert staged.path.read_bytes() == data
    assert staged.head == data[:8192]


def test_it_sends_a_real_user_agent_and_extra_headers(server, downloader, staged):
    url = server.serve("/doc.pdf", pdf_bytes())

    downloader.download(url, staged, headers={"Authorization": "Bearer graph-token"})

    headers = server.requests[0].headers
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Authorization"] == "Bearer graph-token"


def test_a_chunked_body_is_received_whole(server, downloader, staged):
    data = random_bytes(50_000)
    url = server.serve("/chunked", data, chunked=True)

    assert downloader.download(url, staged).size == len(data)
    assert staged.finish().size == len(data)
    assert staged.path.read_bytes() == data


def test_gzip_is_decoded_and_the_decoded_bytes_are_stored(server, downloader, staged):
    data = b"plain text " * 1000
    url = server.serve("/text", data, "text/plain", gzipped=True)

    assert downloader.download(url, staged).size == len(data)
    assert staged.finish().size == len(data)
    assert staged.path.read_bytes() == data


# -- redirects -------------------------------------------------------------------------------------


def chain(server, hops: int) -> str:
    """``/hop-0`` → ``/hop-1`` → … → ``/hop-<hops>`` (the file)."""
    for n in range(hops):
        server.route(f"/hop-{n}", redirect(f"/hop-{n + 1}", status=301 if n % 2 else 302))
    server.serve(f"/hop-{hops}", pdf_bytes(), "application/pdf")
    return server.url("/hop-0")


def test_five_redirects_are_followed(server, downloader, staged):
    fetched = downloader.download(chain(server, 5), staged)

    assert fetched.url == server.url("/hop-5")
    assert fetched.size == len(pdf_bytes())
    assert len(server.requests) == 6


def test_a_sixth_redirect_fails_permanently(server, downloader, staged):
    url = chain(server, 6)

    with pytest.raises(DownloadError) as raised:
        downloader.download(url, staged)

    assert str(raised.value) == f"{url}: more than 5 redirects"
    assert raised.value.permanent is True
    assert len(server.requests) == 6
    assert server.requests_for("/hop-6") == []


@pytest.mark.parametrize("target", ["file:///etc/passwd", "gopher://127.0.0.1:70/_x", "ftp://example.com/x"])
def test_a_redirect_to_another_scheme_is_refused(server, downloader, staged, target):
    url = server.route("/sneaky", redirect(target))

    with pytest.raises(BlockedURL, match="redirected to a non-http\\(s\\) URL"):
        downloader.download(url, staged)


# -- the byte cap ----------------------------------------------------------------------------------


def test_the_cap_stops_a_chunked_body_without_content_length(server, downloader, staged, tmp_path):
    url = server.serve("/endless", random_bytes(4 * CAP), chunked=True)

    with pytest.raises(PayloadTooLarge, match=f"content exceeds the limit of {CAP} bytes"):
        downloader.download(url, staged)

    assert stage_files(tmp_path) == []
    assert "Content-Length" not in server.requests[0].headers


def test_the_cap_stops_a_close_delimited_body(server, downloader, staged, tmp_path):
    url = server.route("/legacy", close_delimited(random_bytes(4 * CAP)))

    with pytest.raises(PayloadTooLarge, match=f"content exceeds the limit of {CAP} bytes"):
        downloader.download(url, staged)

    assert stage_files(tmp_path) == []


def test_an_announced_length_over_the_cap_is_refused_before_the_body_is_read(server, downloader, staged):
    url = server.serve("/huge", random_bytes(CAP + 1))

    with pytest.raises(PayloadTooLarge, match=f"the server announces {CAP + 1} bytes, over the limit of {CAP}"):
        downloader.download(url, staged)

    assert staged.size == 0


def test_a_content_length_that_understates_the_body_cannot_push_past_it(server, downloader, staged):
    body = random_bytes(4 * CAP)
    url = server.route("/liar", raw("HTTP/1.1 200 OK\nContent-Length: 1000", body))

    fetched = downloader.download(url, staged)

    assert fetched.size == 1000
    assert staged.finish().size == 1000
    assert staged.path.read_bytes() == body[:1000]


def test_a_content_length_that_overstates_the_body_is_a_broken_download(server, downloader, staged):
    url = server.route("/short", raw("HTTP/1.1 200 OK\nContent-Length: 5000", b"z" * 100))

    with pytest.raises(DownloadError, match="connection broke mid-download") as raised:
        downloader.download(url, staged)

    assert raised.value.permanent is False


def test_a_gzip_bomb_is_capped_on_the_decoded_bytes(server, downloader, staged):
    url = server.serve("/bomb", b"\0" * (50 * CAP), gzipped=True)

    with pytest.raises(PayloadTooLarge, match=f"content exceeds the limit of {CAP} bytes"):
        downloader.download(url, staged)


# -- time limits -------------------------------------------------------------------------------------


def test_a_server_slower_than_the_timeout_is_a_transient_failure(server, staged):
    downloader = Downloader(allow_private=True, timeout=0.5)
    url = server.serve("/asleep", pdf_bytes(), delay=2)

    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"Read timed out\. \(read timeout=0\.5\)") as raised:
        downloader.download(url, staged)

    assert raised.value.permanent is False
    assert time.monotonic() - started < 1.5


def test_a_dripping_server_is_cut_off_at_the_total_deadline(server, staged):
    downloader = Downloader(allow_private=True, timeout=1)
    url = server.route("/drip", drip(b"x" * 100, interval=0.1))

    started = time.monotonic()
    with pytest.raises(DownloadError, match="download took longer than 1s") as raised:
        downloader.download(url, staged)
    elapsed = time.monotonic() - started

    assert raised.value.permanent is False
    assert 1.0 <= elapsed < 1.6


def test_a_closed_port_is_a_transient_failure(staged):
    url = f"http://127.0.0.1:{free_port()}/x"

    with pytest.raises(DownloadError, match="Connection refused") as raised:
        Downloader(allow_private=True, timeout=2).download(url, staged)

    assert raised.value.permanent is False
    assert str(raised.value).startswith(f"{url}: ")


# -- status codes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (400, True),
        (401, True),
        (403, True),
        (404, True),
        (410, True),
        (451, True),
        (408, False),
        (425, False),
        (429, False),
        (500, False),
        (502, False),
        (503, False),
        (504, False),
        (599, False),
    ],
)
def test_status_codes_are_classified_for_the_retry_policy(server, downloader, staged, status, permanent):
    url = server.serve("/status", b"", status=status)

    with pytest.raises(DownloadError) as raised:
        downloader.download(url, staged)

    assert (raised.value.status, raised.value.permanent) == (status, permanent)
    assert raised.value.http_status == (422 if permanent else 502)
    assert len(server.requests) == 1
    assert staged.size == 0


def test_retry_after_is_carried_on_the_error(server, downloader, staged):
    url = server.serve("/busy", b"", status=503, headers={"Retry-After": "7"})

    with pytest.raises(DownloadError) as raised:
        downloader.download(url, staged)

    assert raised.value.retry_after == 7.0


def test_an_unparsable_url_fails_permanently_without_leaking_credentials(staged):
    url = "http://user:hunter2@127.0.0.1:99999/x"

    with pytest.raises(DownloadError) as raised:
        Downloader(allow_private=True, timeout=1).download(url, staged)

    assert raised.value.permanent is True
    assert str(raised.value) == "http://***@127.0.0.1:99999/x: Failed to parse: http://***@127.0.0.1:99999/x"
