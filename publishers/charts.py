"""A small inline SVG trend chart per measure, built by hand so the bytes depend only on the figures.

The chart is an image with a text alternative (role="img", <title> and <desc> named by
aria-labelledby): the description lists every point, so nothing is only in the picture.
Coordinates are computed with exact decimals and written to one decimal place.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

from .times import period_label, value_text

WIDTH, HEIGHT = 160, 48
PAD_X, PAD_Y = 6, 6
# GOV.UK palette: dark blue line (8.6:1 on white), the baseline in dark grey (7:1): both above the 3:1
# WCAG 1.4.11 asks of graphical objects.
LINE = "#003078"
BASELINE = "#505a5f"
_TENTH = Decimal("0.1")


def _coordinate(value: Decimal) -> str:
    return str(value.quantize(_TENTH, rounding=ROUND_HALF_UP))


def trend_svg(
    chart_id: str, title: str, unit: str, series: tuple[tuple[str, str], ...], baseline_period: str | None = None
) -> Markup:
    """The chart for `series` ((period, value), in period order); the baseline's point is drawn hollow."""
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    points = [(period, Decimal(value)) for period, value in series]
    described = "; ".join(
        f"{value_text(str(value), unit)} in {period_label(period)}{' (baseline)' if period == baseline_period else ''}"
        for period, value in points
    )
    description = f"{described}." if points else "No figures to chart."
    parts = [
        f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{title_id} {desc_id}" focusable="false">',
        f'<title id="{title_id}">{escape(title)}: trend</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
    ]
    if points:
        values = [value for _, value in points]
        low, high = min(values), max(values)
        span = high - low
        inner_w, inner_h = Decimal(WIDTH - 2 * PAD_X), Decimal(HEIGHT - 2 * PAD_Y)
        step = inner_w / (len(points) - 1) if len(points) > 1 else Decimal(0)
        coordinates = []
        for index, (period, value) in enumerate(points):
            x = Decimal(PAD_X) + (step * index if len(points) > 1 else inner_w / 2)
            # Higher values sit higher; a flat series sits in the middle.
            y = Decimal(PAD_Y) + (inner_h / 2 if span == 0 else inner_h - (value - low) * inner_h / span)
            coordinates.append((period, _coordinate(x), _coordinate(y)))
        parts.append(
            f'<line x1="{PAD_X}" y1="{HEIGHT - 1}" x2="{WIDTH - PAD_X}" y2="{HEIGHT - 1}" stroke="{BASELINE}" stroke-width="1"/>'
        )
        if len(coordinates) > 1:
            path = " ".join(f"{x},{y}" for _, x, y in coordinates)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
        for period, x, y in coordinates:
            hollow = period == baseline_period
            fill = "#ffffff" if hollow else LINE
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{fill}" stroke="{LINE}" stroke-width="1.5"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
