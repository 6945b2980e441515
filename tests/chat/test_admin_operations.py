"""Admin for operators: previews, copy button, tiers, cache actions, the Media cache page,
and the Evolution API payload helper."""

from __future__ import annotations

import pytest

from media_store import runtime
from tests.support.media import ogg_opus_bytes, pdf_bytes, png_bytes, random_bytes, webp_bytes

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/chat/messageattachment/"


def change_page(admin_client, attachment) -> str:
    return admin_client.get(f"{CHANGELIST}{attachment.pk}/change/").content.decode()


def run_action(admin_client, action: str, *attachments):
    return admin_client.post(
        CHANGELIST,
        {"action": action, "index": 0, "_selected_action": [str(a.pk) for a in attachments]},
        follow=True,
    )


@pytest.mark.parametrize(
    ("payload", "name", "tag"),
    [(png_bytes(), "p.png", "<img "), (ogg_opus_bytes(), "v.ogg", "<audio controls"), (pdf_bytes(), "d.pdf", None)],
)
def test_the_change_page_previews_media_inline(admin_client, attach, payload, name, tag):
    attachment = attach(payload, name)

    page = change_page(admin_client, attachment)

    if tag is None:
        assert "<img " not in page
        assert "<audio" not in page
    else:
        assert f"{tag}" in page
        assert f'src="/media/{attachment.media_hash}"' in page


def test_the_short_url_has_a_copy_button(admin_client, attach):
    attachment = attach(png_bytes(), "p.png")

    page = change_page(admin_client, attachment)

    assert f'data-url="{attachment.short_url}" onclick="navigator.clipboard.writeText(this.dataset.url)"' in page


def test_the_change_page_shows_which_tiers_hold_it(admin_client, attach):
    attachment = attach(random_bytes(500), "f.bin")

    before = change_page(admin_client, attachment)
    runtime.get_store().warm(attachment.blob.info())
    after = change_page(admin_client, attachment)

    assert "hot: no, disk: yes, origin: yes" in before
    assert "hot: yes, disk: yes, origin: yes" in after


def test_warm_and_purge_actions(admin_client, attach):
    attachment = attach(random_bytes(500), "f.bin")
    store = runtime.get_store()
    info = attachment.blob.info()

    warmed = run_action(admin_client, "warm_cache", attachment)
    hot_after_warm = store.hot.contains(info.sha256)
    purged = run_action(admin_client, "purge_cache", attachment)

    assert "Warmed 1 stored object(s)" in warmed.content.decode()
    assert hot_after_warm
    assert "Purged 1 stored object(s)" in purged.content.decode()
    assert store.presence(info) == {"hot": "no", "disk": "no", "origin": "yes"}


def test_verify_action_reports_a_corrupt_copy(admin_client, attach):
    good = attach(random_bytes(500), "good.bin")
    bad = attach(random_bytes(500), "bad.bin")
    runtime.get_store().disk.path(bad.blob.info()).write_bytes(b"\0" * 500)

    page = run_action(admin_client, "verify_integrity", good, bad).content.decode()

    assert "Verified 2 stored object(s)" in page
    assert f"Blob {bad.sha256[:12]}…: disk corrupt" in page
    assert good.sha256[:12] not in page


def test_the_media_cache_page_is_staff_only_and_linked_from_the_index(client, admin_client, attach):
    attach(png_bytes(), "p.png")

    anonymous = client.get("/admin/media-cache/")
    page = admin_client.get("/admin/media-cache/").content.decode()
    index = admin_client.get("/admin/").content.decode()

    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]
    for section in ("WhatsApp media", "Hot tier", "Disk tier", "Origin", "Generic @cached cache"):
        assert section in page
    assert 'href="/admin/media-cache/"' in index


@pytest.mark.parametrize(
    ("payload", "name", "expected", "suffix"),
    [
        (png_bytes(), "photo.png", ("image", "image/png", "photo.png"), ".png"),
        # unreadable Ogg (analysis failed): not known to be Opus, so the MP3 variant is offered
        (ogg_opus_bytes(), "voice", ("audio", "audio/mpeg", "voice.mp3"), "/audio.mp3"),
        (pdf_bytes(), "report.pdf", ("document", "application/pdf", "report.pdf"), ".pdf"),
    ],
)
def test_evolution_payload_carries_the_right_file_name_and_type(attach, payload, name, expected, suffix):
    attachment = attach(payload, name)

    payload = attachment.evolution_media_payload()

    assert (payload["mediatype"], payload["mimetype"], payload["fileName"]) == expected
    assert payload["media"] == f"{attachment.short_url}{suffix}"  # always with an extension (COMPAT.md)


def test_evolution_payload_for_a_sticker_sends_it_as_a_jpeg_image(attach):
    attachment = attach(webp_bytes(), "sticker.webp")
    attachment.media_type = "sticker"
    attachment.save(update_fields=["media_type"])

    payload = attachment.evolution_media_payload()

    assert payload["mediatype"] == "image"
    assert payload["media"] == f"{attachment.short_url}/image.jpg"  # the Cloud API takes no WebP image
    assert payload["fileName"] == "sticker.jpg"
