"""Ready-to-send payloads for Evolution API and the Cloud API: the original when it complies,
the right variant otherwise, a clear refusal when nothing fits — and every URL really serves."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from chat.outbound import (
    CannotSend,
    choose,
    cloud_api_message,
    evolution_send_audio,
    evolution_send_media,
    evolution_send_sticker,
)
from chat.services import attach_file
from media_store.models import Blob
from tests.support import ffmedia
from tests.support.media import pdf_bytes, png_bytes, webp_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def attach_path():
    def attach(path, filename=None):
        return attach_file(path, filename=filename)

    return attach


def test_a_wav_recording_goes_to_evolution_as_voice_ogg_with_encoding_false(tmp_path, attach_path, client):
    attachment = attach_path(ffmedia.wav(tmp_path), "memo.wav")

    body = evolution_send_audio(attachment)
    chosen = choose(attachment, "voice")

    assert body == {"audio": f"{attachment.short_url}/voice.ogg", "encoding": False}
    assert (chosen.mimetype, chosen.file_name, chosen.variant) == ("audio/ogg; codecs=opus", "memo.ogg", "voice.ogg")
    served = client.get(urlsplit(body["audio"]).path)
    assert (served.status_code, served.headers["Content-Type"]) == (200, "audio/ogg")


def test_a_compliant_voice_note_is_sent_as_the_original(tmp_path, attach_path):
    attachment = attach_path(ffmedia.ogg_opus_mono(tmp_path), "ptt.ogg")

    assert evolution_send_audio(attachment) == {"audio": f"{attachment.short_url}.ogg", "encoding": False}
    assert cloud_api_message(attachment) == {
        "messaging_product": "whatsapp",
        "type": "audio",
        "audio": {"link": f"{attachment.short_url}.ogg", "voice": True},
    }


def test_an_m4a_with_moov_at_the_end_is_sent_as_audio_mp3(tmp_path, attach_path):
    attachment = attach_path(ffmedia.m4a_moov_at_end(tmp_path), "song.m4a")

    assert evolution_send_media(attachment) == {
        "mediatype": "audio",
        "mimetype": "audio/mpeg",
        "media": f"{attachment.short_url}/audio.mp3",
        "fileName": "song.mp3",
    }


def test_an_mp3_is_sent_as_it_is(tmp_path, attach_path):
    attachment = attach_path(ffmedia.mp3(tmp_path), "song.mp3")

    assert cloud_api_message(attachment, "audio") == {
        "messaging_product": "whatsapp",
        "type": "audio",
        "audio": {"link": f"{attachment.short_url}.mp3"},
    }


def test_a_png_is_a_valid_image_and_a_webp_becomes_image_jpg(tmp_path, attach_path, write_file):
    png = attach_file(write_file("photo.png", png_bytes(40, 30)), filename="photo.png")
    webp = attach_file(write_file("pic.webp", webp_bytes()), filename="pic.webp")

    assert evolution_send_media(png, caption="hi") == {
        "mediatype": "image",
        "mimetype": "image/png",
        "media": f"{png.short_url}.png",
        "fileName": "photo.png",
        "caption": "hi",
    }
    assert cloud_api_message(webp, caption="hello") == {
        "messaging_product": "whatsapp",
        "type": "image",
        "image": {"link": f"{webp.short_url}/image.jpg", "caption": "hello"},
    }


def test_a_camera_mov_is_sent_as_video_mp4(tmp_path, attach_path):
    attachment = attach_path(ffmedia.mov_hevc(tmp_path), "camera.mov")

    body = evolution_send_media(attachment)

    assert body == {
        "mediatype": "video",
        "mimetype": "video/mp4",
        "media": f"{attachment.short_url}/video.mp4",
        "fileName": "camera.mp4",
    }


def test_a_three_hour_video_is_refused_with_a_clear_error(tmp_path, attach_path):
    attachment = attach_path(ffmedia.mov_hevc(tmp_path, seconds=1.0), "film.mov")
    Blob.objects.filter(pk=attachment.blob_id).update(duration=3 * 3600)
    attachment.refresh_from_db()

    with pytest.raises(CannotSend, match="cannot send as video: a 10800 s video cannot fit 16 MB as MP4"):
        cloud_api_message(attachment)


def test_stickers_are_512_webp_urls_ending_in_webp(tmp_path, write_file):
    attachment = attach_file(write_file("art.png", png_bytes(100, 100)), filename="art.png")

    assert evolution_send_sticker(attachment) == {"sticker": f"{attachment.short_url}/sticker.webp"}
    assert cloud_api_message(attachment, "sticker") == {
        "messaging_product": "whatsapp",
        "type": "sticker",
        "sticker": {"link": f"{attachment.short_url}/sticker.webp"},
    }


def test_a_document_keeps_its_name_and_a_pdf_cannot_be_a_voice_note(write_file):
    attachment = attach_file(write_file("report.pdf", pdf_bytes()), filename="report.pdf")

    assert cloud_api_message(attachment, caption="Q3") == {
        "messaging_product": "whatsapp",
        "type": "document",
        "document": {"link": f"{attachment.short_url}.pdf", "filename": "report.pdf", "caption": "Q3"},
    }
    with pytest.raises(CannotSend, match="cannot send as voice: voice.ogg needs audio"):
        evolution_send_audio(attachment)
    with pytest.raises(CannotSend, match="unknown kind 'gif'"):
        choose(attachment, "gif")


def test_the_model_helper_is_the_same_implementation(write_file):
    attachment = attach_file(write_file("photo.png", png_bytes(10, 10)), filename="photo.png")

    assert attachment.evolution_media_payload() == evolution_send_media(attachment)
