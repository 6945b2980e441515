"""``?async=1`` / ``Prefer: respond-async`` on the two fetching endpoints: 202, then the status URL.

No broker is configured in the tests, so the Celery task runs inline (the embedded default):
the job is finished by the time the 202 is sent, and its status URL answers the final JSON.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from chat.jobs import FetchJob
from chat.models import MessageAttachment
from tests.support.fake_graph import FakeGraph
from tests.support.media import jpeg_bytes, png_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]


@pytest.fixture
def graph(settings) -> Iterator[FakeGraph]:
    with FakeGraph(token="t0ken") as fake:
        settings.WHATSAPP_GRAPH_URL = fake.url
        settings.WHATSAPP_TOKEN = "t0ken"
        settings.BASE_BACKOFF_SECONDS = 0.0
        yield fake


def test_async_download_answers_202_and_the_status_url_the_attachment(api, server):
    url = server.serve("/a.png", png_bytes(), content_type="image/png")

    accepted = api.post("/api/media/download?async=1", {"url": url}, content_type="application/json")

    assert accepted.status_code == 202
    assert accepted.json()["status"] == "pending"
    status_url = accepted.json()["status_url"]
    assert status_url.startswith("http://testserver/api/media/jobs/")
    assert accepted.headers["Location"] == status_url
    done = api.get(status_url)
    attachment = MessageAttachment.objects.get()
    assert done.status_code == 200
    assert done.json() == api.get(f"/api/attachments/{attachment.pk}/").json()  # the synchronous JSON
    assert done.json()["sha256"] == attachment.sha256


def test_prefer_respond_async_works_like_the_query_parameter(api, server):
    url = server.serve("/b.png", png_bytes(), content_type="image/png")

    accepted = api.post(
        "/api/media/download", {"url": url}, content_type="application/json", headers={"Prefer": "respond-async"}
    )

    assert accepted.status_code == 202
    assert accepted.headers["Preference-Applied"] == "respond-async"
    assert api.get(accepted.json()["status_url"]).status_code == 200


def test_an_async_failure_is_answered_by_the_status_url_with_the_synchronous_status(api, server):
    url = server.serve("/gone.png", b"", status=404)

    accepted = api.post("/api/media/download?async=1", {"url": url}, content_type="application/json")
    failed = api.get(accepted.json()["status_url"])

    assert accepted.status_code == 202
    assert failed.status_code == 422
    assert failed.json()["code"] == "download_failed"
    assert MessageAttachment.objects.count() == 0


def test_a_bad_request_is_refused_at_once_not_queued(api):
    response = api.post("/api/media/download?async=1", {"url": "not a url"}, content_type="application/json")

    assert response.status_code == 400
    assert FetchJob.objects.count() == 0


def test_a_running_job_answers_202_pending(api):
    job = FetchJob.objects.create(kind="url", params={"url": "https://example.com/x.png"})

    response = api.get(f"/api/media/jobs/{job.pk}")

    assert response.status_code == 202
    assert response.json() == {
        "status": "pending",
        "job_id": str(job.pk),
        "status_url": f"http://testserver/api/media/jobs/{job.pk}",
    }


def test_an_unknown_job_is_404_and_anonymous_callers_are_refused(api, client):
    assert api.get("/api/media/jobs/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/api/media/jobs/00000000-0000-0000-0000-000000000000").status_code == 401


def test_async_media_id_fetch_answers_202_then_the_success_json(api, graph):
    data = jpeg_bytes()
    graph.add_media("4242", data, "image/jpeg")

    accepted = api.get(f"/media?id=4242&timestamp={int(time.time())}&async=1")
    done = api.get(accepted.json()["status_url"])

    assert accepted.status_code == 202
    assert done.status_code == 200
    assert done.json()["status"] == "success"
    assert done.json()["file_size"] == len(data)
    assert graph.count("metadata", "4242") == 1


def test_async_media_id_with_a_bad_timestamp_is_400_at_once(api, graph):
    response = api.get("/media?id=4242&timestamp=yesterday&async=1")

    assert response.status_code == 400
    assert FetchJob.objects.count() == 0


def test_an_expired_media_id_job_answers_410(api, graph):
    graph.add_media("77", jpeg_bytes(), "image/jpeg")

    accepted = api.get("/media?id=77&timestamp=1&async=1")
    expired = api.get(accepted.json()["status_url"])

    assert expired.status_code == 410
    assert expired.json() == {"status": "error", "reason": "expired"}
    assert graph.count("metadata", "77") == 0
