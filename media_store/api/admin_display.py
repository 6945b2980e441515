"""How content analysis and variants read in the admin (shared by the Blob and attachment pages)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from media_store.models import Blob
from media_store.variants import NAMES


def duration(blob: Blob) -> str:
    if blob.duration is None:
        return "—"
    minutes, seconds = divmod(blob.duration, 60)
    return f"{int(minutes)}:{seconds:06.3f}" if minutes else f"{seconds:.3f} s"


def summary(blob: Blob) -> str:
    """One line: ``opus 48000 Hz 1 ch · h264 1280x720 30 fps rot 90 · 128 kb/s · streamable``."""
    if blob.analysed_at is None:
        return "not analysed yet (manage.py analyse_media)"
    if blob.analysis_error:
        return f"analysis failed: {blob.analysis_error}"
    meta = blob.metadata or {}
    if not meta:
        return "nothing to analyse"
    parts = []
    if meta.get("format"):  # an image
        parts.append(f"{meta['format']} {meta.get('mode', '')}".strip())
        parts += ["alpha"] * bool(meta.get("has_alpha")) + [f"{meta.get('frames')} frames"] * bool(meta.get("animated"))
        if meta.get("rotation"):
            parts.append(f"EXIF rotation {meta['rotation']}°")
        return " · ".join(parts)
    audio, video = meta.get("audio") or {}, meta.get("video") or {}
    if video:
        parts.append(
            f"{video.get('codec')} {video.get('width')}x{video.get('height')} {video.get('fps') or '?'} fps"
            + (f" rot {video['rotation']}" if video.get("rotation") else "")
        )
    if audio:
        parts.append(f"{audio.get('codec')} {audio.get('sample_rate')} Hz {audio.get('channels')} ch")
    if meta.get("bit_rate"):
        parts.append(f"{meta['bit_rate'] // 1000} kb/s")
    parts.append(meta.get("container", "") + (" · streamable" if meta.get("streamable") else " · not streamable"))
    return " · ".join(parts)


def variant_names(blob: Blob) -> str:
    made = [
        f"{variant.name} ({'the original' if variant.is_original else variant.blob_id[:12] + '…'})"
        for variant in blob.variants.all()
    ]
    return ", ".join(made) or "none made yet"


def variant_links(blob: Blob, short_url: str | None) -> str:
    """Links to every variant URL (made on first click), marking those already made."""
    if not short_url:
        return "—"
    made = set(blob.variants.values_list("name", flat=True))
    return format_html_join(
        " ", '<a href="{0}/{1}" target="_blank" rel="noopener">{1}{2}</a>',
        ((short_url, name, " ✓" if name in made else "") for name in NAMES),
    ) or format_html("—")  # fmt: skip


class AnalysisFilter(admin.SimpleListFilter):
    title = "analysis"
    parameter_name = "analysis"

    def lookups(self, request, model_admin):
        return (("pending", "not analysed"), ("failed", "failed"), ("ok", "analysed"))

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(analysed_at__isnull=True)
        if self.value() == "failed":
            return queryset.exclude(analysis_error="")
        if self.value() == "ok":
            return queryset.filter(analysed_at__isnull=False, analysis_error="")
        return queryset
