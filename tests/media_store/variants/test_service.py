"""Made once, safely: single-flight, the negative cache, bounded slots, time limits, dedup."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from media_store import runtime
from media_store.exceptions import TranscoderBusy, VariantUnsupported
from media_store.ingest.commit import mark_expired, store_file
from media_store.models import Blob, Variant
from media_store.variants import service
from media_store.variants.base import Source
from media_store.variants.recipes import RECIPES
from media_store.variants.slots import transcode_slot
from tests.support import ffmedia
from tests.support.media import ogg_opus_bytes

pytestmark = pytest.mark.django_db


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_first_requests_run_one_transcode(tmp_path, stored, runs):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("threads need a database that queues writers (PostgreSQL; see tests/e2e for gunicorn)")
    source = stored(ffmedia.wav(tmp_path, seconds=3.0)).info()
    barrier = threading.Barrier(50)
    results, errors = [], []

    def request() -> None:
        try:
            barrier.wait(10)
            results.append(service.variant(source, "voice.ogg").sha256)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(results) == 50
    assert len(set(results)) == 1
    assert runs() == {"ffmpeg": 1}
    assert Variant.objects.filter(source_id=source.sha256, name="voice.ogg").count() == 1


def test_a_corrupt_input_is_refused_and_transcoded_once_only(tmp_path, stored, runs):
    path = tmp_path / "broken.ogg"
    path.write_bytes(ogg_opus_bytes())
    source = stored(path).info()

    with pytest.raises(VariantUnsupported, match="the converter failed"):
        service.variant(source, "voice.ogg")
    for _ in range(3):
        with pytest.raises(VariantUnsupported, match="remembered"):
            service.variant(source, "voice.ogg")

    assert runs() == {"ffmpeg": 1}
    assert runtime.negative_cache("variant").get(service.negative_key(source.sha256, "voice.ogg")) is not None
    assert Variant.objects.count() == 0


def test_every_slot_busy_past_the_wait_is_transcoder_busy(tmp_path, stored, settings, runs):
    settings.MEDIA_TRANSCODE_CONCURRENCY = 1
    settings.MEDIA_TRANSCODE_WAIT_SECONDS = 0.2
    source = stored(ffmedia.wav(tmp_path, seconds=0.5)).info()

    started = time.monotonic()
    with transcode_slot(), pytest.raises(TranscoderBusy, match="all 1 transcode slots are busy"):
        service.variant(source, "voice.ogg")

    assert 0.2 <= time.monotonic() - started < 5
    assert runs() == {}
    assert service.variant(source, "voice.ogg").mime_type == "audio/ogg"  # not remembered as a failure


def test_a_transcode_past_the_time_limit_is_killed_and_refused(tmp_path, stored, settings):
    pid_file = tmp_path / "pid"
    settings.MEDIA_FFMPEG = str(_script(tmp_path, "ffmpeg", f'echo $$ > "{pid_file}"\nexec sleep 30'))
    settings.MEDIA_TRANSCODE_TIMEOUT = 1
    source = stored(ffmedia.wav(tmp_path, seconds=0.5)).info()

    started = time.monotonic()
    with pytest.raises(VariantUnsupported, match="ffmpeg ran past 1 s and was stopped"):
        service.variant(source, "voice.ogg")

    assert time.monotonic() - started < 10
    assert not Path(f"/proc/{pid_file.read_text().strip()}").exists()


def test_a_missing_ffmpeg_is_a_503_and_not_remembered(tmp_path, stored, settings):
    source = stored(ffmedia.wav(tmp_path, seconds=0.5)).info()
    settings.MEDIA_FFMPEG = str(tmp_path / "no-ffmpeg")

    with pytest.raises(TranscoderBusy, match="is not installed"):
        service.variant(source, "voice.ogg")
    settings.MEDIA_FFMPEG = "ffmpeg"

    assert service.variant(source, "voice.ogg").mime_type == "audio/ogg"


def test_ffmpeg_runs_niced_with_no_stdin_and_local_files_only(tmp_path, stored, settings):
    log = tmp_path / "calls"
    body = f'cut -d" " -f19 /proc/$$/stat > "{log}"\necho "$@" >> "{log}"\nexec ffmpeg "$@"'
    settings.MEDIA_FFMPEG = str(_script(tmp_path, "ffmpeg", body))
    source = stored(ffmedia.wav(tmp_path, seconds=0.5)).info()

    service.variant(source, "voice.ogg")

    niceness, arguments = log.read_text().splitlines()
    assert niceness == "10"
    assert arguments.startswith("-nostdin -hide_banner -loglevel error -n -protocol_whitelist file -t 1.500 -i file:")
    assert arguments.endswith(".ogg")


def test_a_variant_is_stored_once_in_the_origin_and_deduplicated(tmp_path, stored, runs):
    source = stored(ffmedia.wav(tmp_path, seconds=0.5))

    first = service.variant(source.info(), "voice.ogg")
    second = service.variant(source.info(), "voice.ogg")
    copy = tmp_path / "copy.ogg"
    copy.write_bytes(runtime.get_store().origin.get(first.origin_key))
    again, created = store_file(copy)

    assert first == second
    assert runtime.get_store().origin.head(first.origin_key) == first.size
    assert (again.sha256, created) == (first.sha256, False)
    assert Blob.objects.count() == 2  # the source and its voice.ogg
    assert runs() == {"ffmpeg": 1}


def test_the_same_source_makes_the_same_bytes_on_every_run(tmp_path, stored):
    """Bit-exact output: a variant made on two nodes (or again after its origin copy was lost)
    is the same content, stored once."""
    source = stored(ffmedia.webm_opus_stereo(tmp_path, seconds=1.0))
    first = service.variant(source.info(), "voice.ogg")
    Variant.objects.all().delete()
    service.get_lookup().forget(source.sha256, "voice.ogg")

    assert service.variant(source.info(), "voice.ogg").sha256 == first.sha256


def test_a_variant_is_made_from_the_origin_when_no_tier_holds_the_source(tmp_path, stored):
    source = stored(ffmedia.wav(tmp_path, seconds=0.5))
    runtime.get_store().evict(source.info())

    assert service.variant(source.info(), "audio.mp3").mime_type == "audio/mpeg"


def test_a_variant_whose_content_expired_is_made_again(tmp_path, stored, runs):
    source = stored(ffmedia.wav(tmp_path, seconds=0.5))
    made = service.variant(source.info(), "voice.ogg")
    runtime.get_store().origin.delete(made.origin_key)
    mark_expired(made.sha256)
    service.forget(source.sha256, "voice.ogg")

    again = service.variant(source.info(), "voice.ogg")

    assert again.sha256 == made.sha256
    assert Blob.objects.get(sha256=made.sha256).expired_at is None
    assert runtime.get_store().origin.head(made.origin_key) == made.size
    assert runs() == {"ffmpeg": 2}


def test_unknown_variant_names_are_a_key_error(tmp_path, stored):
    source = stored(ffmedia.wav(tmp_path, seconds=0.5))

    with pytest.raises(KeyError):
        service.variant(source.info(), "voice.flac")


def test_commands_are_argument_lists_with_the_safety_flags(tmp_path):
    source = Source("a" * 64, 1000, "audio/wav", "audio", duration=2.0, metadata={"has_audio": True})
    for name in ("voice.ogg", "audio.mp3"):
        (command,) = RECIPES[name].plan(source).attempts
        args = command(tmp_path / "in.wav", tmp_path / "out")
        assert args[:2] == ["ffmpeg", "-nostdin"]
        assert args[args.index("-protocol_whitelist") + 1] == "file"
        assert args[args.index("-t") + 1] == "3.000"
        assert args[args.index("-i") + 1] == f"file:{tmp_path / 'in.wav'}"
        assert args[-1] == f"file:{tmp_path / 'out'}"


def test_eager_variants_are_made_at_ingest(tmp_path, settings, runs, django_capture_on_commit_callbacks):
    from mediacache_project.celery import app

    settings.MEDIA_VARIANTS_EAGER = ["voice.ogg", "sticker.webp"]
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            blob, _ = store_file(ffmedia.wav(tmp_path, seconds=0.5))
    finally:
        app.conf.task_always_eager = saved

    assert list(blob.variants.values_list("name", flat=True)) == ["voice.ogg"]  # no sticker for audio
    assert runs() == {"ffmpeg": 1}
