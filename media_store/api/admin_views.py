"""The "Media cache" admin page (staff only): the last hour as a chart, then the statistics as tables."""

from __future__ import annotations

from django.contrib import admin
from django.shortcuts import render

from media_store.api.chart import last_hour_svg
from media_store.ops.reports import media_statistics, report_sections
from media_store.ops.timeline import timeline
from memo.decorator import get_cache


def media_cache_page(request):
    sections = report_sections(media_statistics())
    sections.append(("Generic @cached cache", [(key, str(value)) for key, value in get_cache().stats().items()]))
    timeline.sample()  # a starting point even where no sampler thread runs (runserver, a fresh worker)
    minutes = timeline.last_hour()
    covered = [minute for minute in minutes if minute.requests is not None]
    context = {
        **admin.site.each_context(request),
        "title": "Media cache",
        "sections": sections,
        "chart": last_hour_svg(minutes),
        "chart_minutes": len(covered),
        "chart_requests": sum(minute.total for minute in covered),
    }
    return render(request, "admin/media_store/media_cache.html", context)
