"""``manage.py ingest_media PATH... [--filename NAME] [--json]`` (CONTRACT §5)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from chat.models import MessageAttachment
from media_store.models import Blob
from tests.support.contract import PNG_RGB_METADATA, attachment_json
from tests.support.media import jpeg_bytes, ogg_opus_bytes, pdf_bytes, png_bytes, random_bytes
from tests.support.servers import free_port


def ingest(*args: str) -> tuple[str, str]:
    """Run the command; returns (stdout, stderr). A CommandError propagates."""
    out, err = StringIO(), StringIO()
    call_command("ingest_media", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def ingest_failing(*args: str) -> tuple[str, str, CommandError]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("ingest_media", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), raised.value


@pytest.mark.django_db
def test_text_output_shows_the_short_url(write_file):
    data = png_bytes()
    path = write_file("red.png", data)
    out, err = ingest(str(path))
    attachment = MessageAttachment.objects.get()
    assert out.splitlines() == [
        f"http://media.example.test/media/{attachment.media_hash}  red.png  image/png  {len(data)} bytes"
    ]
    assert err == ""


@pytest.mark.django_db
def test_the_ingested_file_is_left_in_place(write_file):
    data = pdf_bytes()
    path = write_file("doc.pdf", data)
    ingest(str(path))
    assert path.read_bytes() == data


@pytest.mark.django_db
def test_json_prints_one_object_with_exactly_the_api_keys(write_file, attachment_keys):
    data = png_bytes(width=20, height=10)
    out, _err = ingest(str(write_file("red.png", data)), "--json")
    lines = out.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    attachment = MessageAttachment.objects.get()
    assert list(record) == attachment_keys
    assert record == attachment_json(
        attachment, data, mime_type="image/png", media_type="image", width=20, height=10, metadata=PNG_RGB_METADATA
    )


@pytest.mark.django_db
def test_several_paths_print_several_lines(write_file):
    paths = [
        write_file("a.png", png_bytes()),
        write_file("b.jpg", jpeg_bytes()),
        write_file("c.pdf", pdf_bytes()),
    ]
    out, _err = ingest(*map(str, paths), "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert [record["mime_type"] for record in records] == ["image/png", "image/jpeg", "application/pdf"]
    assert len({record["media_hash"] for record in records}) == 3
    assert MessageAttachment.objects.count() == 3


@pytest.mark.django_db
def test_the_same_file_twice_makes_two_attachments_on_one_blob(write_file):
    path = write_file("a.png", png_bytes())
    out, _err = ingest(str(path), str(path))
    assert len(out.splitlines()) == 2
    assert MessageAttachment.objects.count() == 2
    assert Blob.objects.count() == 1


@pytest.mark.django_db
def test_a_missing_path_fails_after_processing_the_good_ones(write_file, tmp_path):
    missing = tmp_path / "nowhere.png"
    good = write_file("good.png", png_bytes())

    out, err, error = ingest_failing(str(missing), str(good))

    attachment = MessageAttachment.objects.get()
    assert attachment.original_filename == "good.png"
    assert out.splitlines()[0].startswith(f"{attachment.short_url}  ")
    assert len(out.splitlines()) == 1
    assert err.splitlines() == [f"{missing}: no such file"]
    assert error.returncode == 1


@pytest.mark.django_db
def test_a_directory_is_not_a_file(tmp_path):
    _out, err, _error = ingest_failing(str(tmp_path))
    assert err.splitlines() == [f"{tmp_path}: no such file"]
    assert MessageAttachment.objects.count() == 0


@pytest.mark.django_db
def test_json_mode_reports_a_missing_path_as_a_path_error_line(write_file, tmp_path, attachment_keys):
    good = write_file("good.pdf", pdf_bytes())
    missing = tmp_path / "gone.pdf"

    out, err, _error = ingest_failing(str(good), str(missing), "--json")

    first, second = (json.loads(line) for line in out.splitlines())
    assert list(first) == attachment_keys
    assert second == {"path": str(missing), "error": "no such file"}
    assert len(err.splitlines()) == 1
    assert str(missing) in err
    assert MessageAttachment.objects.count() == 1


@pytest.mark.django_db
def test_filename_with_two_paths_is_refused_before_ingesting(write_file):
    a, b = write_file("a.png", png_bytes()), write_file("b.png", png_bytes(color=(1, 1, 1)))
    out, _err, error = ingest_failing(str(a), str(b), "--filename", "x.png")
    assert "--filename" in str(error)
    assert out == ""
    assert MessageAttachment.objects.count() == 0
    assert Blob.objects.count() == 0


@pytest.mark.parametrize(
    ("make", "given", "stored"),
    [
        (ogg_opus_bytes, "voice", "voice.ogg"),
        (png_bytes, "photo.bin", "photo.png"),
        (jpeg_bytes, "holiday.jpg", "holiday.jpg"),
    ],
)
@pytest.mark.django_db
def test_filename_option_stores_that_name_with_the_extension_fixed(write_file, make, given, stored):
    path = write_file("source-file", make())
    out, _err = ingest(str(path), "--filename", given)
    attachment = MessageAttachment.objects.get()
    assert attachment.original_filename == stored
    assert f"  {stored}  " in out


def test_no_path_is_a_usage_error():
    with pytest.raises(CommandError):
        call_command("ingest_media", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_an_empty_file_is_refused_with_one_line(write_file, staging_leftovers):
    path = write_file("empty.png", b"")
    out, err, _error = ingest_failing(str(path))
    assert out == ""
    assert err.splitlines() == [f"{path}: the content is empty"]
    assert MessageAttachment.objects.count() == 0
    assert Blob.objects.count() == 0
    assert staging_leftovers() == []


@pytest.mark.django_db
def test_a_file_over_the_byte_cap_is_refused_and_leaves_nothing(write_file, settings, staging_leftovers):
    settings.UPLOAD_MAX_BYTES = 1024
    path = write_file("big.bin", random_bytes(4096))
    _out, err, _error = ingest_failing(str(path))
    assert len(err.splitlines()) == 1
    assert err.startswith(f"{path}: ")
    assert MessageAttachment.objects.count() == 0
    assert Blob.objects.count() == 0
    assert staging_leftovers() == []


@pytest.mark.django_db
def test_an_unreachable_origin_is_reported_per_path(write_file, settings, staging_leftovers):
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.MEDIA_ORIGIN_TIMEOUT = 1
    path = write_file("red.png", png_bytes())
    out, err, _error = ingest_failing(str(path), "--json")
    record = json.loads(out)
    assert list(record) == ["path", "error"]
    assert record["path"] == str(path)
    assert len(err.splitlines()) == 1
    assert MessageAttachment.objects.count() == 0
    assert Blob.objects.count() == 0
    assert staging_leftovers() == []
