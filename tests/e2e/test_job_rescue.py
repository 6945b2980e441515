"""A task message nobody will ever run (lost with a Redis primary, say): the node finishes the job.

gunicorn as ``make run`` serves it, with a real Redis broker that no Celery worker reads: the
``202`` is sent, the message sits in the queue for ever, and the workers' housekeeping thread
takes the job over after ``MEDIA_JOB_RESCUE_SECONDS``.
"""

from __future__ import annotations

import time

import pytest
import redis
import requests

from tests.support.http import LocalHTTPServer
from tests.support.media import png_bytes
from tests.support.servers import RedisServer

pytestmark = pytest.mark.e2e

TOKEN = "rescue-operator-token"


@pytest.fixture
def unread_broker():
    broker = RedisServer().start()
    yield broker
    broker.stop()


def test_a_job_whose_message_no_worker_reads_is_finished_by_the_node(start_media_server, unread_broker):
    app = start_media_server(
        MEDIA_API_TOKEN=TOKEN,
        CELERY_BROKER_URL=unread_broker.url,
        MEDIA_JOB_RESCUE_SECONDS="1",
        DOWNLOAD_ALLOW_PRIVATE_NETWORKS="true",
    )
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with LocalHTTPServer() as origin:
        url = origin.serve("/lost.png", png_bytes(), content_type="image/png")
        accepted = requests.post(f"{app.url}/api/media/download?async=1", json={"url": url}, headers=auth, timeout=10)
        assert accepted.status_code == 202, accepted.text
        status_url = app.url + "/" + accepted.json()["status_url"].split("/", 3)[3]

        deadline = time.monotonic() + 20
        polled = requests.get(status_url, headers=auth, timeout=5)
        while polled.status_code == 202 and time.monotonic() < deadline:
            time.sleep(0.2)
            polled = requests.get(status_url, headers=auth, timeout=5)

    assert polled.status_code == 200, app.log()
    assert polled.json()["sha256"]
    assert "media.job_rescued" in app.log()
    assert unread_broker_queue_length(unread_broker) == 1  # the message really was never read


def unread_broker_queue_length(broker: RedisServer) -> int:
    return redis.Redis.from_url(broker.url).llen("celery")
