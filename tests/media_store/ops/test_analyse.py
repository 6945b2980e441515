"""``manage.py analyse_media``: analyse content stored before analysis existed; batched, resumable."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from media_store import runtime
from media_store.ingest.commit import store_file
from media_store.models import Blob
from media_store.ops.analyse import analyse_pending
from media_store.ops.reports import media_statistics, report_sections
from tests.support import ffmedia
from tests.support.media import pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def legacy(tmp_path):
    """Content as it was before analysis existed: rows with no analysis at all."""

    def make() -> list[Blob]:
        pdf = tmp_path / "doc.pdf"
        pdf.write_bytes(pdf_bytes())
        paths = [ffmedia.wav(tmp_path, 0.5), ffmedia.mp4_h264(tmp_path, 0.5), ffmedia.gif(tmp_path, 3), pdf]
        blobs = [store_file(path)[0] for path in paths]
        Blob.objects.update(analysed_at=None, metadata={}, duration=None, analysis_error="")
        return blobs

    return make


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("analyse_media", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_analyses_every_pending_blob_in_batches(legacy):
    wav, mp4, gif, pdf = legacy()

    output = run("--batch-size", "3")

    assert output == "analysed 4, failed 0, origin unavailable 0 (2 batch(es), " + output.split("batch(es), ")[1]
    assert Blob.objects.get(pk=wav.pk).duration == 0.5
    assert Blob.objects.get(pk=mp4.pk).metadata["video"]["codec"] == "h264"
    assert Blob.objects.get(pk=gif.pk).metadata["frames"] == 3
    assert Blob.objects.get(pk=pdf.pk).analysed_at is not None
    assert Blob.objects.filter(analysed_at__isnull=True).count() == 0
    assert run().startswith("analysed 0, failed 0")  # idempotent


def test_dry_run_counts_and_changes_nothing(legacy):
    legacy()

    assert run("--dry-run") == "dry run: 4 stored object(s) to analyse\n"
    assert Blob.objects.filter(analysed_at__isnull=True).count() == 4


def test_an_interrupted_run_resumes_where_it_stopped(legacy):
    legacy()

    class Interrupt:
        done = 0

        def set_total(self, total: int) -> None:
            pass

        def advance(self, amount: int = 1) -> None:
            self.done += amount
            if self.done == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        analyse_pending(batch_size=10, progress=Interrupt())
    assert Blob.objects.filter(analysed_at__isnull=True).count() == 2

    report = analyse_pending(batch_size=10)

    assert (report.candidates, report.analysed) == (2, 2)


def test_content_gone_from_the_origin_is_recorded_not_retried(legacy):
    wav, *_ = legacy()
    store = runtime.get_store()
    store.evict(wav.info())
    store.origin.delete(wav.origin_key)

    run()

    blob = Blob.objects.get(pk=wav.pk)
    assert blob.analysis_error == "the content is gone from the origin"
    assert run("--dry-run") == "dry run: 0 stored object(s) to analyse\n"
    assert run("--dry-run", "--retry-failed") == "dry run: 1 stored object(s) to analyse\n"


def test_an_unreachable_origin_leaves_rows_pending_and_exits_non_zero(legacy, settings, closed_port):
    legacy()
    settings.MEDIA_STORAGE = "s3"
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
    settings.MEDIA_ORIGIN_TIMEOUT = 0.5
    settings.ENABLE_CACHING = False

    with pytest.raises(CommandError, match="3 object\\(s\\) could not be read from the origin; run again later"):
        run()
    assert Blob.objects.filter(analysed_at__isnull=True).count() == 3  # the PDF needed no bytes


def test_a_bad_batch_size_is_one_clear_line():
    with pytest.raises(CommandError, match="--batch-size must be at least 1, not 0"):
        run("--batch-size", "0")


def test_media_stats_report_analysis_and_variants(tmp_path):
    from media_store.variants.service import variant

    blob, _ = store_file(ffmedia.wav(tmp_path, 2.0))
    variant(blob.info(), "voice.ogg")
    ogg, _ = store_file(ffmedia.ogg_opus_mono(tmp_path, 1.0))
    variant(ogg.info(), "voice.ogg")

    content = media_statistics()["content"]

    assert content["analysis_pending"] == 0
    assert content["analysed"] == 3  # the WAV, its voice.ogg, the OGG
    assert content["audio_seconds"] == pytest.approx(3.0, abs=0.1)  # received media: the WAV's voice.ogg is not
    # counted again, the OGG that is its own voice.ogg counts once
    assert content["variants"] == {"voice.ogg": {"made": 2, "original": 1}}
    sections = dict(report_sections(media_statistics()))
    assert ("variant voice.ogg", "2 (1 served as the original)") in sections["Content analysis and variants"]
