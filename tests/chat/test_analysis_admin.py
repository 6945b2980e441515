"""The admin shows each attachment's analysis and variants (and the Blob admin its analysis)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chat.services import attach_file
from media_store.variants.service import variant
from tests.support import ffmedia
from tests.support.media import ogg_opus_bytes

pytestmark = pytest.mark.django_db


def test_the_attachment_page_shows_duration_codecs_and_variant_links(admin_client, tmp_path):
    attachment = attach_file(ffmedia.mp4_h264(tmp_path, seconds=2.0), filename="clip.mp4")
    variant(attachment.blob.info(), "thumb.jpg")

    page = admin_client.get(reverse("admin:chat_messageattachment_change", args=[attachment.pk])).content.decode()

    assert "2.000 s" in page
    assert "h264 320x240 25.0 fps · aac 44100 Hz 1 ch" in page
    assert "streamable" in page
    assert f'href="{attachment.short_url}/video.mp4"' in page
    assert "thumb.jpg ✓" in page


def test_a_failed_analysis_is_shown_as_such(admin_client, write_file):
    attachment = attach_file(write_file("broken.ogg", ogg_opus_bytes()))

    page = admin_client.get(reverse("admin:chat_messageattachment_change", args=[attachment.pk])).content.decode()

    assert "analysis failed: ffprobe cannot read the file" in page


def test_the_blob_admin_lists_durations_and_filters_by_analysis(admin_client, tmp_path, write_file):
    audio = attach_file(ffmedia.wav(tmp_path, seconds=1.5))
    broken = attach_file(write_file("broken.ogg", ogg_opus_bytes()))
    changelist = reverse("admin:media_store_blob_changelist")

    failed = admin_client.get(changelist, {"analysis": "failed"}).content.decode()
    blob_page = admin_client.get(reverse("admin:media_store_blob_change", args=[audio.sha256])).content.decode()

    assert broken.sha256 in failed
    assert audio.sha256 not in failed
    assert "pcm_s16le 44100 Hz 1 ch" in blob_page
    assert "none made yet" in blob_page
