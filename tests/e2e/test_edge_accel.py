"""Large files leave Python at once: the app verifies its disk copy, then hands it to nginx
(X-Accel-Redirect), which sends it with sendfile and answers Range itself — with our headers."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.media import random_bytes
from tests.support.processes import children_of, peak_rss_growth

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
SIZE = 100 * MiB
CACHE_FOREVER = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def big(start_edge):
    edge = start_edge(MEDIA_STORAGE="filesystem")
    return edge, edge.ingest(random_bytes(SIZE), "big.bin")


def digest_of(response: requests.Response) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    for chunk in response.iter_content(1024 * 1024):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


def test_a_100_mib_object_goes_out_from_the_edge_with_every_header(big):
    edge, item = big

    with requests.get(edge.url + item.path, stream=True, timeout=120) as cold:
        cold_digest = digest_of(cold)
    with requests.get(edge.url + item.path, stream=True, timeout=120) as warm:
        warm_digest = digest_of(warm)

    assert cold.status_code == warm.status_code == 200
    assert cold_digest == warm_digest == (item.sha256, SIZE)
    assert (cold.headers["X-Cache"], cold.headers["X-Cache-Tier"]) == ("MISS", "origin")
    assert (warm.headers["X-Cache"], warm.headers["X-Cache-Tier"]) == ("HIT", "disk")
    headers = warm.headers
    assert headers["ETag"] == f'"{item.sha256}"'
    assert headers["Content-Length"] == str(SIZE)
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Cache-Control"] == CACHE_FOREVER
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"].endswith("; sandbox")
    assert headers["Content-Disposition"] == f'attachment; filename="{item.sha256[:16]}.bin"'
    assert "X-Accel-Redirect" not in headers
    assert "X-Mediacache-Pointer" not in headers
    assert all(", " not in headers[name] for name in ("ETag", "Content-Type", "X-Cache", "Accept-Ranges"))  # no doubles
    assert "Last-Modified" not in headers  # nginx's own, from the file's mtime: removed


def test_range_in_the_last_megabyte_is_answered_by_nginx(big):
    edge, item = big
    requests.head(edge.url + item.path, timeout=30)

    tail = requests.get(edge.url + item.path, headers={"Range": f"bytes=-{MiB}"}, timeout=30)
    end = requests.get(edge.url + item.path, headers={"Range": f"bytes={SIZE - 10}-"}, timeout=30)
    one = requests.get(edge.url + item.path, headers={"Range": "bytes=0-0"}, timeout=30)

    assert tail.status_code == 206
    assert tail.headers["Content-Range"] == f"bytes {SIZE - MiB}-{SIZE - 1}/{SIZE}"
    assert tail.content == item.payload[-MiB:]
    assert tail.headers["ETag"] == f'"{item.sha256}"'
    assert (end.status_code, end.content) == (206, item.payload[-10:])
    assert (one.status_code, one.content, one.headers["Content-Length"]) == (206, item.payload[:1], "1")


def test_conditionals_on_a_handed_over_file(big):
    edge, item = big
    etag = f'"{item.sha256}"'

    not_modified = requests.get(edge.url + item.path, headers={"If-None-Match": f'"x", W/{etag}'}, timeout=30)
    if_range = requests.get(edge.url + item.path, headers={"Range": "bytes=5-9", "If-Range": etag}, timeout=30)
    unsatisfiable = requests.get(edge.url + item.path, headers={"Range": f"bytes={SIZE}-"}, timeout=30)
    with requests.get(
        edge.url + item.path, headers={"Range": "bytes=5-9", "If-Range": '"other"'}, stream=True, timeout=30
    ) as other_version:
        other_status, other_length = other_version.status_code, other_version.headers["Content-Length"]

    assert (not_modified.status_code, not_modified.headers["ETag"]) == (304, etag)
    assert not_modified.headers["Cache-Control"] == CACHE_FOREVER
    assert (if_range.status_code, if_range.content) == (206, item.payload[5:10])
    assert (unsatisfiable.status_code, unsatisfiable.headers["Content-Range"]) == (416, f"bytes */{SIZE}")
    assert (other_status, other_length) == (200, str(SIZE))


def test_worker_memory_stays_flat_while_four_clients_download_it(big):
    edge, item = big

    def download(_):
        with requests.get(edge.url + item.path, stream=True, timeout=120) as response:
            return digest_of(response)

    # one warm-up round first: the threads' first requests import and allocate what any request
    # would (a few MiB, measured once); what is asserted is that 4 × 100 MiB more add nothing
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(download, range(4)))
    pids = children_of(edge.gunicorn.process.pid)
    with peak_rss_growth(pids) as growth, ThreadPoolExecutor(max_workers=4) as pool:
        digests = list(pool.map(download, range(4)))

    assert digests == [(item.sha256, SIZE)] * 4
    assert len(pids) == 2
    # flat: 4 × 100 MiB pass while a worker grows by less than the bench's bound (background
    # threads — metrics sampling, the disk sweep — allocate a few MiB on their own schedule)
    assert max(growth.values()) < 32 * MiB


def test_a_corrupt_disk_copy_is_never_handed_over(big):
    edge, item = big
    requests.head(edge.url + item.path, timeout=30)
    copy = Path(edge.gunicorn.env["MEDIA_CACHE_DIR"]) / "documents" / f"{item.sha256}.bin"
    with copy.open("r+b") as file:  # same size, one byte changed in its last megabyte
        file.seek(SIZE - 1000)
        byte = file.read(1)
        file.seek(SIZE - 1000)
        file.write(bytes([byte[0] ^ 0xFF]))

    with requests.get(edge.url + item.path, stream=True, timeout=120) as response:
        served = digest_of(response)

    assert response.status_code == 200
    assert served == (item.sha256, SIZE)
    assert response.headers["X-Cache-Tier"] == "origin"  # the bad copy was dropped and refilled
