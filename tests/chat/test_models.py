"""MessageAttachment: token and short URL on save, shared blobs, collisions; and filename_for."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.db import IntegrityError

from chat import models
from chat.models import TOKEN_ATTEMPTS, MessageAttachment
from chat.services import filename_for
from media_store.models import Blob
from tests.support.media import jpeg_bytes, ogg_opus_bytes, pdf_bytes, png_bytes

TOKEN = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def counting_tokens(monkeypatch):
    """Replace ``chat.models.new_token`` with a scripted sequence; records every call."""

    def install(*tokens: str) -> list[str]:
        handed_out: list[str] = []
        script = iter(tokens)

        def fake_token() -> str:
            token = next(script, tokens[-1])
            handed_out.append(token)
            return token

        monkeypatch.setattr(models, "new_token", fake_token)
        return handed_out

    return install


@pytest.mark.django_db
def test_save_fills_media_hash_with_32_lowercase_hex(attach):
    attachment = attach(png_bytes())
    assert TOKEN.fullmatch(attachment.media_hash)
    assert MessageAttachment.objects.get(pk=attachment.pk).media_hash == attachment.media_hash


@pytest.mark.django_db
def test_short_url_is_public_base_url_plus_media_token(attach):
    attachment = attach(png_bytes())
    assert attachment.short_url == f"http://media.example.test/media/{attachment.media_hash}"
    assert MessageAttachment.objects.get(pk=attachment.pk).short_url == attachment.short_url


@pytest.mark.parametrize("base", ["https://cdn.example.test/", "https://cdn.example.test"])
@pytest.mark.django_db
def test_short_url_has_no_double_slash_whatever_the_base_url(attach, settings, base):
    settings.PUBLIC_BASE_URL = base
    attachment = attach(png_bytes())
    assert attachment.short_url == f"https://cdn.example.test/media/{attachment.media_hash}"


@pytest.mark.django_db
def test_media_hash_is_not_a_digest_of_the_content(attach):
    data = png_bytes()
    attachment = attach(data)
    assert attachment.media_hash != hashlib.md5(data).hexdigest()
    assert attachment.media_hash != hashlib.sha256(data).hexdigest()[:32]


@pytest.mark.django_db
def test_two_attachments_of_the_same_bytes_get_different_tokens(attach):
    data = png_bytes()
    first, second = attach(data), attach(data)
    assert first.media_hash != second.media_hash
    assert first.short_url != second.short_url


@pytest.mark.django_db
def test_two_attachments_of_the_same_bytes_share_one_blob_and_one_origin_object(attach, origin_objects):
    data = jpeg_bytes()
    first, second = attach(data, "a.jpg"), attach(data, "b.jpg")
    assert first.pk != second.pk
    assert first.blob_id == second.blob_id == hashlib.sha256(data).hexdigest()
    assert Blob.objects.count() == 1
    assert [size for _key, size in origin_objects()] == [len(data)]


@pytest.mark.django_db
def test_different_bytes_get_different_blobs(attach, origin_objects):
    first, second = attach(png_bytes(color=(1, 2, 3))), attach(png_bytes(color=(4, 5, 6)))
    assert first.blob_id != second.blob_id
    assert len(origin_objects()) == 2


@pytest.mark.django_db
def test_content_fields_are_copied_from_the_blob(attach):
    data = png_bytes(width=40, height=30)
    attachment = MessageAttachment.objects.get(pk=attach(data, "red.png").pk)
    blob = attachment.blob
    assert (attachment.mime_type, attachment.media_type) == ("image/png", "image")
    assert (blob.mime_type, blob.media_type) == ("image/png", "image")
    assert attachment.file_size == blob.size == len(data)
    assert attachment.sha256 == blob.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.md5_sum == blob.md5 == hashlib.md5(data).hexdigest()
    assert (attachment.width, attachment.height) == (blob.width, blob.height) == (40, 30)


@pytest.mark.django_db
def test_creating_a_row_on_an_existing_blob_copies_its_content_fields(attach):
    blob = attach(pdf_bytes()).blob
    attachment = MessageAttachment.objects.create(blob=blob)
    assert attachment.mime_type == "application/pdf"
    assert attachment.media_type == "document"
    assert attachment.file_size == len(pdf_bytes())
    assert attachment.sha256 == blob.sha256
    assert attachment.md5_sum == blob.md5
    assert (attachment.width, attachment.height) == (None, None)


@pytest.mark.django_db
def test_an_existing_media_hash_is_kept(attach):
    blob = attach(png_bytes()).blob
    token = "0123456789abcdef" * 2
    attachment = MessageAttachment.objects.create(blob=blob, media_hash=token)
    attachment.refresh_from_db()
    assert attachment.media_hash == token
    assert attachment.short_url == f"http://media.example.test/media/{token}"


@pytest.mark.django_db
def test_resaving_keeps_the_token(attach):
    attachment = attach(png_bytes())
    token = attachment.media_hash
    attachment.original_filename = "renamed.png"
    attachment.save()
    attachment.refresh_from_db()
    assert attachment.media_hash == token
    assert attachment.original_filename == "renamed.png"


@pytest.mark.django_db
def test_save_with_update_fields_also_writes_a_missing_token_and_short_url(attach):
    attachment = attach(png_bytes(), "before.png")
    MessageAttachment.objects.filter(pk=attachment.pk).update(media_hash=None, short_url=None)
    legacy = MessageAttachment.objects.get(pk=attachment.pk)
    assert (legacy.media_hash, legacy.short_url) == (None, None)

    legacy.original_filename = "after.png"
    legacy.save(update_fields=["original_filename"])

    stored = MessageAttachment.objects.get(pk=attachment.pk)
    assert stored.original_filename == "after.png"
    assert TOKEN.fullmatch(stored.media_hash)
    assert stored.media_hash != attachment.media_hash
    assert stored.short_url == f"http://media.example.test/media/{stored.media_hash}"


@pytest.mark.django_db
def test_save_with_update_fields_fills_a_missing_short_url_from_the_kept_token(attach):
    attachment = attach(png_bytes())
    MessageAttachment.objects.filter(pk=attachment.pk).update(short_url=None)
    legacy = MessageAttachment.objects.get(pk=attachment.pk)
    legacy.save(update_fields=["original_filename"])
    stored = MessageAttachment.objects.get(pk=attachment.pk)
    assert stored.media_hash == attachment.media_hash
    assert stored.short_url == f"http://media.example.test/media/{attachment.media_hash}"


@pytest.mark.django_db
def test_a_token_collision_is_retried_with_a_fresh_token(attach, counting_tokens):
    existing = attach(png_bytes())
    fresh = "f" * 32
    handed_out = counting_tokens(existing.media_hash, fresh)

    attachment = MessageAttachment.objects.create(blob=existing.blob)

    assert handed_out == [existing.media_hash, fresh]
    assert attachment.media_hash == fresh
    assert attachment.short_url == f"http://media.example.test/media/{fresh}"
    assert MessageAttachment.objects.get(pk=attachment.pk).media_hash == fresh
    assert MessageAttachment.objects.count() == 2


@pytest.mark.django_db
def test_a_token_collision_on_update_fields_save_is_retried(attach, counting_tokens):
    existing = attach(png_bytes(), "one.png")
    legacy = attach(jpeg_bytes(), "two.jpg")
    MessageAttachment.objects.filter(pk=legacy.pk).update(media_hash=None, short_url=None)
    legacy = MessageAttachment.objects.get(pk=legacy.pk)
    fresh = "e" * 32
    handed_out = counting_tokens(existing.media_hash, fresh)

    legacy.save(update_fields=["original_filename"])

    assert handed_out == [existing.media_hash, fresh]
    assert MessageAttachment.objects.get(pk=legacy.pk).media_hash == fresh


@pytest.mark.django_db
def test_integrity_error_propagates_after_token_attempts_collisions(attach, counting_tokens):
    existing = attach(png_bytes())
    handed_out = counting_tokens(existing.media_hash)

    with pytest.raises(IntegrityError):
        MessageAttachment.objects.create(blob=existing.blob)

    assert len(handed_out) == TOKEN_ATTEMPTS
    assert MessageAttachment.objects.count() == 1


@pytest.mark.django_db
def test_a_unique_violation_that_is_not_a_token_collision_is_not_retried(attach, counting_tokens):
    existing = attach(png_bytes())
    handed_out = counting_tokens("a" * 32, "b" * 32)
    duplicate_pk = MessageAttachment(pk=existing.pk, blob=existing.blob)

    with pytest.raises(IntegrityError):
        duplicate_pk.save(force_insert=True)

    assert handed_out == ["a" * 32]
    assert MessageAttachment.objects.count() == 1


@pytest.mark.django_db
def test_a_given_token_that_collides_is_not_replaced(attach, counting_tokens):
    existing = attach(png_bytes())
    handed_out = counting_tokens("c" * 32)

    with pytest.raises(IntegrityError):
        MessageAttachment.objects.create(blob=existing.blob, media_hash=existing.media_hash)

    assert handed_out == []


def _blob(mime_type: str, media_type: str, extension: str) -> Blob:
    return Blob(sha256="0123456789ab" + "c" * 52, mime_type=mime_type, media_type=media_type, extension=extension)


PNG = _blob("image/png", "image", ".png")
JPEG = _blob("image/jpeg", "image", ".jpg")
OGG = _blob("audio/ogg", "audio", ".ogg")
PDF = _blob("application/pdf", "document", ".pdf")


FILENAME_CASES = [
    (PNG, "photo.png", "photo.png"),
    (PNG, "Photo.PNG", "Photo.PNG"),
    (JPEG, "holiday.jpeg", "holiday.jpeg"),
    (PDF, "report.pdf", "report.pdf"),
    (OGG, "voice", "voice.ogg"),
    (PNG, "photo.bin", "photo.png"),
    (PDF, "report.txt", "report.pdf"),
    (JPEG, "picture.png", "picture.jpg"),
    (PNG, "uploads/2024/photo.png", "photo.png"),
    (OGG, "/var/tmp/voice", "voice.ogg"),
    (PNG, "../../etc/photo.bin", "photo.png"),
    (PNG, "C:\\Users\\ana\\photo.png", "photo.png"),
    (PNG, "", "image-0123456789ab.png"),
    (PNG, None, "image-0123456789ab.png"),
    (OGG, "   ", "audio-0123456789ab.ogg"),
    (PDF, "some/dir/", "dir.pdf"),
]


@pytest.mark.parametrize(
    ("blob", "given", "expected"),
    FILENAME_CASES,
    ids=[f"{blob.extension}:{given!r}" for blob, given, _expected in FILENAME_CASES],
)
def test_filename_for(blob, given, expected):
    assert filename_for(blob, given) == expected


@pytest.mark.django_db
def test_attach_file_stores_a_name_matching_the_detected_content(attach):
    attachment = attach(ogg_opus_bytes(), "voice")
    assert attachment.mime_type == "audio/ogg"
    assert attachment.original_filename == "voice.ogg"
