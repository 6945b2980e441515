"""The admin's Media cache page: the last-hour chart (inline SVG, no script) above the statistics."""

from __future__ import annotations

import pytest
from django.urls import reverse

from media_store.api import admin_views
from media_store.ops import metrics
from media_store.ops.timeline import Timeline

PAGE = reverse("media-cache")

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_timeline(monkeypatch) -> Timeline:
    """A ring of our own, so other tests' requests are not in this one's chart."""
    ring = Timeline()
    monkeypatch.setattr(admin_views, "timeline", ring)
    return ring


def test_the_page_charts_the_requests_of_the_last_hour_by_tier(admin_client, fresh_timeline):
    fresh_timeline.sample()
    metrics.MEDIA_REQUESTS.labels("redis", "200").inc(2)
    metrics.MEDIA_REQUESTS.labels("disk", "206").inc(1)
    metrics.MEDIA_REQUESTS.labels("s3", "200").inc(1)

    response = admin_client.get(PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('id="media-cache-chart"') == 1
    assert 'data-total="4"' in page
    assert "requests (hot 2, disk 1, origin 1, other 0), hit ratio 75.0%" in page
    assert '<polyline class="hit-ratio"' in page
    assert response.context["chart_requests"] == 4
    chart = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" viewBox') :]
    assert "<script" not in chart[: chart.index("</svg>")]


def test_with_nothing_served_the_chart_is_empty_but_drawn(admin_client, fresh_timeline):
    response = admin_client.get(PAGE)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="media-cache-chart"' in page
    assert 'data-total="0"' in page  # the current minute, sampled by the page itself
    assert '<polyline class="hit-ratio"' not in page
    assert "0 requests in the 1 minute sampled" in page


def test_the_statistics_tables_are_still_there(admin_client, fresh_timeline):
    page = admin_client.get(PAGE).content.decode()
    for caption in ("WhatsApp media", "Hot tier", "Disk tier", "Origin", "Generic @cached cache"):
        assert f"<caption>{caption}</caption>" in page


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
