"""The "content" part of ``media_stats`` / ``/media/stats``: how much is analysed, how much media
there is (hours of audio and video), and which variants exist (and how many are the original).

The hours count what was *received*: a variant's output (the ``voice.ogg`` made from a WAV)
is the same minutes again, so content that exists only as another blob's variant is left out
of them — otherwise every transcoded voice note would count twice."""

from __future__ import annotations

from django.db.models import Count, Exists, F, OuterRef, Q, Sum

from media_store.models import Blob, Variant


def content_report() -> dict:
    derived = Variant.objects.filter(blob_id=OuterRef("sha256")).exclude(source_id=F("blob_id"))
    received = ~Q(Exists(derived))
    totals = Blob.objects.aggregate(
        analysed=Count("sha256", filter=Q(analysed_at__isnull=False, analysis_error="")),
        failed=Count("sha256", filter=~Q(analysis_error="")),
        pending=Count("sha256", filter=Q(analysed_at__isnull=True)),
        audio_seconds=Sum("duration", filter=Q(media_type="audio") & received),
        video_seconds=Sum("duration", filter=Q(media_type="video") & received),
    )
    variants = Variant.objects.values("name").annotate(
        count=Count("id"), original=Count("id", filter=Q(blob_id=F("source_id")))
    )
    return {
        "analysed": totals["analysed"],
        "analysis_failed": totals["failed"],
        "analysis_pending": totals["pending"],
        "audio_seconds": round(totals["audio_seconds"] or 0.0, 1),
        "video_seconds": round(totals["video_seconds"] or 0.0, 1),
        "variants": {row["name"]: {"made": row["count"], "original": row["original"]} for row in variants},
    }


def content_rows(report: dict) -> list[tuple[str, str]]:
    rows = [
        ("analysed", str(report["analysed"])),
        ("analysis failed", str(report["analysis_failed"])),
        ("not analysed yet", str(report["analysis_pending"])),
        ("audio", f"{report['audio_seconds'] / 3600:.1f} h"),
        ("video", f"{report['video_seconds'] / 3600:.1f} h"),
    ]
    for name, counts in sorted(report["variants"].items()):
        rows.append((f"variant {name}", f"{counts['made']} ({counts['original']} served as the original)"))
    return rows
