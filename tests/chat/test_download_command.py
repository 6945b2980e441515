"""``manage.py download_media URL... [--workers 5] [--json]`` (CONTRACT §5)."""

from __future__ import annotations

import hashlib
import json
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from chat.models import MessageAttachment
from media_store.models import Blob
from tests.support.contract import PNG_RGB_METADATA
from tests.support.media import jpeg_bytes, ogg_opus_bytes, pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db


def download(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("download_media", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def download_failing(*args: str) -> tuple[str, str, CommandError]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("download_media", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), raised.value


def test_text_output_lists_each_url_in_order_and_a_summary(server, allow_private):
    png, ogg = png_bytes(), ogg_opus_bytes()
    first = server.serve("/red.png", png, "image/png", delay=0.2)
    second = server.serve("/voice.ogg", ogg, "audio/ogg")
    copy = server.serve("/copy.png", png, "image/png", delay=0.4)

    out, err = download(first, second, copy)

    attachments = {a.original_filename: a for a in MessageAttachment.objects.all()}
    red, voice, copied = attachments["red.png"], attachments["voice.ogg"], attachments["copy.png"]
    lines = out.splitlines()
    # input order; whichever PNG finished downloading second is the deduplicated one (on a
    # loaded machine the delays do not decide it reliably)
    dedup_first = lines[0].endswith("(deduplicated)")
    assert lines == [
        f"{red.short_url}  red.png  image/png  {len(png)} bytes  {first}" + ("  (deduplicated)" if dedup_first else ""),
        f"{voice.short_url}  voice.ogg  audio/ogg  {len(ogg)} bytes  {second}",
        f"{copied.short_url}  copy.png  image/png  {len(png)} bytes  {copy}"
        + ("" if dedup_first else "  (deduplicated)"),
        "2 ok, 1 deduplicated, 0 failed",
    ]
    assert err == ""
    assert Blob.objects.count() == 2


def test_json_prints_one_object_per_url_with_the_api_keys_and_url(server, allow_private, attachment_keys):
    data = jpeg_bytes()
    url = server.serve("/cat.jpg", data, "image/jpeg")

    out, err = download(url, "--json")

    lines = out.splitlines()
    record = json.loads(lines[0])
    attachment = MessageAttachment.objects.get()
    assert len(lines) == 1
    assert list(record) == [*attachment_keys, "url"]
    assert record == {
        "id": attachment.pk,
        "media_hash": attachment.media_hash,
        "short_url": attachment.short_url,
        "mime_type": "image/jpeg",
        "media_type": "image",
        "file_size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5_sum": hashlib.md5(data).hexdigest(),
        "width": 64,
        "height": 48,
        "duration": None,
        "metadata": {**PNG_RGB_METADATA, "format": "JPEG"},
        "url": url,
    }
    assert err == "1 ok, 0 deduplicated, 0 failed\n"


def test_failures_are_reported_with_reasons_and_make_the_exit_status_non_zero(server, allow_private):
    good = server.serve("/doc.pdf", pdf_bytes())
    missing = server.serve("/missing.png", b"", status=404)

    out, err, error = download_failing(good, missing, "file:///etc/passwd")

    assert out.splitlines()[1:] == [
        "1 ok, 0 deduplicated, 2 failed",
        f"  failed: {missing}: {missing} answered 404 Not Found",
        "  failed: file:///etc/passwd: only http and https URLs can be downloaded, not 'file'",
    ]
    assert err == ""
    assert str(error) == "2 of 3 URL(s) could not be downloaded"
    assert error.returncode == 1
    assert MessageAttachment.objects.count() == 1


def test_json_failures_are_objects_on_stdout_and_the_summary_goes_to_stderr(server, allow_private):
    good = server.serve("/doc.pdf", pdf_bytes())
    missing = server.serve("/missing", b"", status=404)

    out, err, error = download_failing(missing, good, "--json")

    records = [json.loads(line) for line in out.splitlines()]
    assert records[0] == {"url": missing, "error": f"{missing} answered 404 Not Found"}
    assert records[1]["url"] == good
    assert records[1]["mime_type"] == "application/pdf"
    assert err.splitlines() == [
        "1 ok, 0 deduplicated, 1 failed",
        f"  failed: {missing}: {missing} answered 404 Not Found",
    ]
    assert error.returncode == 1


def test_credentials_never_appear_in_the_output(server, allow_private):
    server.serve("/private.pdf", pdf_bytes())
    server.serve("/denied.pdf", b"", status=401)
    base = f"http://bob:hunter2@127.0.0.1:{server.port}"

    out, err, _error = download_failing(f"{base}/private.pdf", f"{base}/denied.pdf", "--json")

    assert "hunter2" not in out + err
    assert json.loads(out.splitlines()[0])["url"] == f"http://***@127.0.0.1:{server.port}/private.pdf"


def test_a_refused_private_address_fails_the_run(server):
    url = server.serve("/a.png", png_bytes())

    out, _err, error = download_failing(url)

    assert out.splitlines()[0] == "0 ok, 0 deduplicated, 1 failed"
    assert "a private or reserved address" in out.splitlines()[1]
    assert server.connections == 0
    assert error.returncode == 1


def test_workers_download_in_parallel(server, allow_private):
    urls = [server.serve(f"/slow-{n}.png", png_bytes(color=(n, 0, 0)), delay=0.3) for n in range(6)]

    started = time.monotonic()
    out, _err = download(*urls, "--workers", "6")

    assert time.monotonic() - started < 1.2
    assert out.splitlines()[-1] == "6 ok, 0 deduplicated, 0 failed"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "--workers must be between 1 and 32, not 0"),
        ("-2", "--workers must be between 1 and 32, not -2"),
        ("33", "--workers must be between 1 and 32, not 33"),
        ("many", "--workers expects a whole number, not 'many'"),
    ],
)
def test_a_bad_worker_count_is_one_clear_error(server, value, message):
    _out, _err, error = download_failing(server.url("/x.png"), "--workers", value)

    assert str(error) == message
    assert len(str(error).splitlines()) == 1
    assert server.connections == 0


def test_at_least_one_url_is_required():
    _out, _err, error = download_failing()

    assert str(error) == "Error: the following arguments are required: URL"


def test_the_progress_bar_stays_off_when_stderr_is_not_a_terminal(server, allow_private):
    out, err = download(server.serve("/doc.pdf", pdf_bytes()))

    assert err == ""
    assert "\r" not in out
