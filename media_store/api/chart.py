"""The Media cache page's chart of the last hour: requests per minute by tier, and the hit ratio.

Inline SVG built here, on the server: no JavaScript, no CDN, nothing for the browser to fetch.
Each minute is a stacked bar (hot, disk, origin, other) with a ``<title>`` tooltip; the hit
ratio is a line on its own 0–100 % scale. A minute no sample covers is left blank.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from django.utils.safestring import SafeString, mark_safe

from media_store.ops.timeline import SERIES, Minute

WIDTH, HEIGHT = 760, 230
LEFT, RIGHT, TOP, BOTTOM = 48, 48, 12, 44  # margins around the plot area
COLORS = {"hot": "#2e7d32", "disk": "#1565c0", "origin": "#ef6c00", "other": "#9e9e9e", "ratio": "#6a1b9a"}
LABELS = {"hot": "hot (memory/Redis)", "disk": "disk", "origin": "origin", "other": "no tier (304/404/…)"}


def last_hour_svg(minutes: list[Minute]) -> SafeString:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(minutes), 1)
    peak = max((minute.total for minute in minutes), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'role="img" aria-labelledby="chart-title" id="media-cache-chart" font-family="sans-serif" font-size="11">',
        '<title id="chart-title">Requests per minute by tier, and hit ratio, over the last hour</title>',
        _axes(plot_w, plot_h, peak),
    ]
    ratio_points = []
    for index, minute in enumerate(minutes):
        x = LEFT + index * slot
        if minute.requests is None:
            continue
        parts.append(_bar(minute, x, slot, plot_h, peak))
        if minute.hit_ratio is not None:
            ratio_points.append(f"{x + slot / 2:.1f},{TOP + plot_h * (1 - minute.hit_ratio):.1f}")
    if ratio_points:
        parts.append(
            f'<polyline class="hit-ratio" fill="none" stroke="{COLORS["ratio"]}" stroke-width="2" '
            f'points="{" ".join(ratio_points)}"/>'
        )
        for point in ratio_points:  # a lone minute has no line to draw: its dot still shows
            cx, cy = point.split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{COLORS["ratio"]}"/>')
    parts.append(_legend())
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every interpolated value is a number or escaped


def _bar(minute: Minute, x: float, slot: float, plot_h: float, peak: int) -> str:
    at = datetime.fromtimestamp(minute.start, UTC).strftime("%H:%M")
    ratio = "no reads" if minute.hit_ratio is None else f"hit ratio {100 * minute.hit_ratio:.1f}%"
    detail = ", ".join(f"{name} {minute.requests[name]}" for name in SERIES)
    parts = [f'<g class="minute" data-start="{minute.start}" data-total="{minute.total}">']
    parts.append(f"<title>{escape(f'{at} UTC: {minute.total} requests ({detail}), {ratio}')}</title>")
    y = TOP + plot_h
    for name in SERIES:
        count = minute.requests[name]
        if not count:
            continue
        height = plot_h * count / peak
        y -= height
        parts.append(
            f'<rect class="{name}" x="{x + 1:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" '
            f'height="{height:.1f}" fill="{COLORS[name]}"/>'
        )
    parts.append("</g>")
    return "".join(parts)


def _axes(plot_w: float, plot_h: float, peak: int) -> str:
    bottom, right = TOP + plot_h, LEFT + plot_w
    parts = [
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#666"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#666"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{peak}</text>',
        f'<text x="{LEFT - 4}" y="{bottom}" text-anchor="end">0</text>',
        f'<text x="{right + 4}" y="{TOP + 4}" fill="{COLORS["ratio"]}">100%</text>',
        f'<text x="{right + 4}" y="{bottom}" fill="{COLORS["ratio"]}">0%</text>',
        f'<text x="{LEFT}" y="{bottom + 14}">−60 min</text>',
        f'<text x="{LEFT + plot_w / 2}" y="{bottom + 14}" text-anchor="middle">−30 min</text>',
        f'<text x="{right}" y="{bottom + 14}" text-anchor="end">now</text>',
    ]
    return "".join(parts)


def _legend() -> str:
    y = HEIGHT - 8
    parts, x = [], LEFT
    for name in (*SERIES, "ratio"):
        label = "hit ratio" if name == "ratio" else LABELS[name]
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{COLORS[name]}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}">{escape(label)}</text>')
        x += 24 + 6.5 * len(label)
    return "".join(parts)
