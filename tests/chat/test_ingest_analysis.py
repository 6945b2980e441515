"""Every way in is analysed: an upload, a URL download and a WhatsApp media ID (file: elsewhere)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chat.inbound import attachment_for_media_id
from tests.support import ffmedia
from tests.support.fake_graph import FakeGraph

pytestmark = pytest.mark.django_db

TOKEN = "analysis-test-token"


def test_an_uploaded_recording_is_analysed(api, tmp_path):
    data = ffmedia.m4a_moov_at_end(tmp_path, seconds=1.0).read_bytes()

    response = api.post("/api/attachments/", {"file": SimpleUploadedFile("memo.m4a", data, "audio/mp4")})

    body = response.json()
    assert response.status_code == 201
    assert body["duration"] == pytest.approx(1.0, abs=0.05)
    assert (body["metadata"]["audio"]["codec"], body["metadata"]["streamable"]) == ("aac", False)


def test_a_downloaded_video_is_analysed(api, server, allow_private, tmp_path):
    data = ffmedia.mp4_h264(tmp_path, seconds=1.0).read_bytes()
    url = server.serve("/clip.mp4", data, "video/mp4")

    body = api.post("/api/media/download", {"url": url}, content_type="application/json").json()

    assert body["duration"] == pytest.approx(1.0, abs=0.05)
    assert body["metadata"]["video"]["codec"] == "h264"


def test_a_whatsapp_voice_note_is_analysed(settings, tmp_path):
    data = ffmedia.ogg_opus_mono(tmp_path, seconds=1.5).read_bytes()
    with FakeGraph(token=TOKEN) as graph:
        settings.DOWNLOAD_ALLOW_PRIVATE_NETWORKS = True
        settings.WHATSAPP_GRAPH_URL = graph.url
        settings.WHATSAPP_TOKEN = TOKEN
        graph.add_media("1234567890", data, "audio/ogg; codecs=opus")

        attachment = attachment_for_media_id("1234567890")

    assert attachment.blob.duration == pytest.approx(1.5, abs=0.05)
    assert attachment.blob.metadata["audio"] == {
        "codec": "opus", "profile": None, "sample_rate": 48000, "channels": 1, "bit_rate": None,
    }  # fmt: skip
