"""The "Media cache" admin page (staff only): the operator statistics as tables."""

from __future__ import annotations

from django.contrib import admin
from django.shortcuts import render

from media_store.ops.reports import media_statistics, report_sections
from memo.decorator import get_cache


def media_cache_page(request):
    sections = report_sections(media_statistics())
    sections.append(("Generic @cached cache", [(key, str(value)) for key, value in get_cache().stats().items()]))
    context = {**admin.site.each_context(request), "title": "Media cache", "sections": sections}
    return render(request, "admin/media_store/media_cache.html", context)
