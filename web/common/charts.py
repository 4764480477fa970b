"""Bar and line charts as inline SVG, drawn on the server: no CDN, no JavaScript.

Every label comes from the database (process, step and people names), so
each one is escaped with markupsafe before it reaches the markup.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 56
COLOURS = ("#2f6fb0", "#d9822b", "#3c9a5f", "#b03a48")
MAX_LABELS = 16  # x labels shown along an axis; the others keep their tooltip


def _scale(values: list[float]) -> float:
    """The top of the y axis: the largest value, never 0 (an empty chart still has an axis)."""
    top = max((v for v in values if v is not None), default=0)
    return float(top) if top > 0 else 1.0


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _frame(title: str, body: list[str], top: float) -> Markup:
    """The SVG element with its title, y axis (0 and the top value) and ``body``."""
    bottom = HEIGHT - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="lz-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="{LEFT}" y="16" class="lz-chart-title" font-size="13">{escape(title)}</text>',
             f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#999"/>',
             f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#999"/>',
             f'<text x="{LEFT - 4}" y="{bottom}" text-anchor="end" font-size="10">0</text>',
             f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end" font-size="10">{_number(top)}</text>',
             *body, "</svg>"]
    return Markup("".join(parts))


def _x_label(x: float, label: str, index: int, count: int) -> str:
    step = max(1, -(-count // MAX_LABELS))
    if index % step:
        return ""
    y = HEIGHT - BOTTOM + 14
    return (f'<text x="{x:.1f}" y="{y}" font-size="10" text-anchor="end" '
            f'transform="rotate(-35 {x:.1f} {y})">{escape(label)}</text>')


def bar_chart(title: str, labels: list[str], values: list[float | None]) -> Markup:
    """One bar per label; an empty value draws no bar."""
    top, count = _scale(values), max(len(labels), 1)
    slot = (WIDTH - LEFT - RIGHT) / count
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x, height = LEFT + i * slot, (value or 0) / top * (HEIGHT - TOP - BOTTOM)
        body.append(f'<rect x="{x + slot * 0.15:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{height:.1f}" fill="{COLOURS[0]}"><title>{escape(label)}: '
                    f'{"" if value is None else _number(value)}</title></rect>')
        body.append(_x_label(x + slot / 2, label, i, count))
    return _frame(title, body, top)


def line_chart(title: str, labels: list[str], series: list[tuple[str, list[float | None]]]) -> Markup:
    """One polyline per named series over the same labels, with a legend."""
    top = _scale([v for _, values in series for v in values])
    count = max(len(labels), 1)
    slot = (WIDTH - LEFT - RIGHT) / count
    body = [_x_label(LEFT + (i + 0.5) * slot, label, i, count) for i, label in enumerate(labels)]
    for n, (name, values) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        height = HEIGHT - TOP - BOTTOM
        points = " ".join(f"{LEFT + (i + 0.5) * slot:.1f},{HEIGHT - BOTTOM - (v or 0) / top * height:.1f}"
                          for i, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        body.append(f'<text x="{WIDTH - RIGHT - 120 * (len(series) - n)}" y="16" font-size="11" '
                    f'fill="{colour}">■ {escape(name)}</text>')
    return _frame(title, body, top)
