"""Charts drawn by the server as inline SVG: no script, no chart library, nothing fetched.

`chart()` turns one series (a label and an integer per bucket: paise or a count) into an
`<svg role="img">` named by its <title> and <desc>, with gridlines, a labelled value axis and
bucket labels. The drawing is in viewBox units and the stylesheet scales it to the width of its
card, so the same markup fits a 375 px phone and a 1280 px screen. Every text is escaped.
Pages put the exact figures in a table beside it: the chart is the picture, not the record.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from markupsafe import Markup, escape

from server.http.formats import rupees

WIDTH, HEIGHT = 400, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 10, 12, 30  # room for the value axis and the bucket labels
MAX_LABELS = 6  # bucket labels shown under the axis; the others are skipped, not squeezed
TICKS = 4  # about this many gridlines above and below zero together


def compact(value: int, money: bool) -> str:
    """An axis label: ₹1.5k, ₹2.3L, ₹1.1Cr for paise (Indian units); 1.2k for counts."""
    sign = "−" if value < 0 else ""
    amount = abs(value) / 100 if money else abs(value)
    units = ((1e7, "Cr"), (1e5, "L"), (1e3, "k")) if money else ((1e6, "M"), (1e3, "k"))
    text = f"{amount:.2f}".rstrip("0").rstrip(".")
    for size, unit in units:
        if amount >= size:
            text = f"{amount / size:.1f}".rstrip("0").rstrip(".") + unit
            break
    return f"{sign}{'₹' if money else ''}{text}"


def exact(value: int, money: bool) -> str:
    """A figure as tables and tooltips show it: ₹1,234.50 or 1234."""
    return rupees(value, exact=True) if money else str(value)


def nice_step(span: float, smallest: int) -> int:
    """A round step (1, 2 or 5 times a power of ten, at least `smallest`) giving about
    TICKS gridlines over `span`."""
    raw = max(span / TICKS, smallest)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return max(int(factor * power), smallest)
    return int(10 * power)  # pragma: no cover (the loop always returns)


def scale(values: Sequence[int], money: bool) -> tuple[int, int, int]:
    """(low, high, step) of the value axis: zero always on it, whole rupees for money."""
    low, high = min(0, *values), max(0, *values)
    smallest = 100 if money else 1
    step = nice_step(high - low, smallest)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    if low == high:
        high = low + step  # no data: an axis from 0 to one step
    return low, high, step


def chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[int],
    *,
    money: bool,
    kind: Literal["bar", "line"] = "bar",
) -> Markup:
    """One series as an accessible SVG bar or line chart (see the module docstring).
    `chart_id` must be unique on the page: it prefixes the ids of the title and description."""
    if len(labels) != len(values):
        raise ValueError("a label for every value")
    if not values:
        raise ValueError("a chart needs at least one bucket")
    low, high, step = scale(values, money)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(values)

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    def num(n: float) -> str:
        return f"{n:.1f}".rstrip("0").rstrip(".")

    ident = escape(chart_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg {kind}" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        '<g class="grid">',
    ]
    for tick in range(low, high + 1, step):
        at = num(y(tick))
        line_class = "zero" if tick == 0 else "line"
        parts.append(
            f'<line class="{line_class}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at}" y2="{at}" '
            f'stroke="{"#5a6577" if tick == 0 else "#d8dee8"}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{at}" dy="0.32em" text-anchor="end" font-size="13" '
            f'fill="#4a5566">{escape(compact(tick, money))}</text>'
        )
    parts.append("</g>")
    every = math.ceil(len(labels) / MAX_LABELS)
    parts.append('<g class="labels">')
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{num(LEFT + (i + 0.5) * slot)}" y="{HEIGHT - BOTTOM + 18}" '
                f'text-anchor="middle" font-size="13" fill="#4a5566">{escape(label)}</text>'
            )
    parts.append("</g>")
    parts.append(f'<g class="{"bars" if kind == "bar" else "points"}">')
    if kind == "line":
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{num(LEFT + (i + 0.5) * slot)} {num(y(v))}"
            for i, v in enumerate(values)
        )
        parts.append(
            f'<path class="trend" d="{path}" fill="none" stroke="#1f5fbf" stroke-width="2"/>'
        )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        tip = f"<title>{escape(label)}: {escape(exact(value, money))}</title>"
        centre = LEFT + (i + 0.5) * slot
        negative = " negative" if value < 0 else ""
        colour = "#b3261e" if value < 0 else "#1f5fbf"
        if kind == "bar":
            top, bottom = y(max(value, 0)), y(min(value, 0))
            width = max(slot * 0.7, 1)
            parts.append(
                f'<rect class="bar{negative}" x="{num(centre - width / 2)}" y="{num(top)}" '
                f'width="{num(width)}" height="{num(bottom - top)}" fill="{colour}">{tip}</rect>'
            )
        else:
            parts.append(
                f'<circle class="point{negative}" cx="{num(centre)}" cy="{num(y(value))}" r="3" '
                f'fill="{colour}">{tip}</circle>'
            )
    parts.append("</g></svg>")
    return Markup("".join(parts))
