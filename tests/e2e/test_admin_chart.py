"""The Media cache chart under gunicorn (2 workers, multiprocess metrics), as `make run` serves it.

Each worker's sampler thread (gunicorn.conf.py ``post_worker_init``) reads the totals shared by
all workers, so whichever worker answers the page charts every request of the server.
"""

from __future__ import annotations

import re

import pytest
import requests

from tests.support.media import png_bytes

PASSWORD = "chart-operator-password"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(start_media_server):
    running = start_media_server()
    running.gunicorn.manage(
        "createsuperuser", "--noinput", "--username", "operator", "--email", "operator@example.test",
        env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )  # fmt: skip
    return running


def logged_in(base: str) -> requests.Session:
    session = requests.Session()
    login = f"{base}/admin/login/"
    session.get(login, timeout=10).raise_for_status()
    answer = session.post(
        login,
        data={"username": "operator", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"],
              "next": "/admin/"},
        headers={"Referer": login},
        timeout=10,
    )  # fmt: skip
    assert answer.url == f"{base}/admin/", answer.text[:500]
    return session


def charted_requests(page: str) -> int:
    """The sum of the per-minute bar totals in the page's SVG."""
    chart = page[page.index('id="media-cache-chart"') :]
    chart = chart[: chart.index("</svg>")]
    return sum(int(total) for total in re.findall(r'<g class="minute" data-start="\d+" data-total="(\d+)"', chart))


def test_every_worker_charts_the_requests_all_workers_served(server):
    media = server.ingest(png_bytes(20, 20), "dot.png")
    for _ in range(12):  # a new connection each: the two workers share the requests
        assert requests.get(f"{server.url}{media.path}", timeout=10).status_code == 200

    session = logged_in(server.url)
    seen = set()
    for _ in range(8):  # new connections: both workers answer some of these
        page = session.get(f"{server.url}/admin/media-cache/", headers={"Connection": "close"}, timeout=10)
        assert page.status_code == 200
        seen.add(charted_requests(page.text))
    assert seen == {12}, server.log()[-3000:]
