"""Line charts as inline SVG drawn on the server: no script, nothing fetched, readable without JavaScript."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[datetime, float]]


def _label(value: float, unit: str) -> str:
    return f"{value:.0f}{unit}" if value >= 10 or value == int(value) else f"{value:.1f}{unit}"


def line_chart(title: str, series: Sequence[Series], unit: str = "", width: int = 640, height: int = 200) -> Markup:
    """One polyline per series over a shared time axis; y starts at zero. Empty input draws a note."""
    drawn = [s for s in series if s.points]
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height + 20 * len(drawn)}" width="{width}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    if not drawn:
        parts.append(f'<text x="{LEFT}" y="{height // 2}">no runs in this window</text></svg>')
        return Markup("".join(parts))
    times = [at.timestamp() for s in drawn for at, _ in s.points]
    t0, t1 = min(times), max(times)
    top = max(max(v for s in drawn for _, v in s.points), 1.0)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + (plot_w * (at.timestamp() - t0) / (t1 - t0) if t1 > t0 else plot_w / 2)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}"/>'
                 f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>'
                 f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{_label(top, unit)}</text>'
                 f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0{unit}</text>'
                 f'<text x="{LEFT}" y="{height - 8}">{datetime.fromtimestamp(t0, UTC).strftime("%m-%d %H:%M")}</text>'
                 f'<text x="{LEFT + plot_w}" y="{height - 8}" text-anchor="end">'
                 f'{datetime.fromtimestamp(t1, UTC).strftime("%m-%d %H:%M")}</text>')
    for n, s in enumerate(drawn):
        color = PALETTE[n % len(PALETTE)]
        coords = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in s.points)
        if len(s.points) == 1:
            at, v = s.points[0]
            parts.append(f'<circle cx="{x(at):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>')
        else:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
        last = s.points[-1][1]
        parts.append(f'<text x="{LEFT}" y="{height + 14 + 20 * n}" fill="{color}">&#9632; {escape(s.name)} '
                     f'(last {_label(last, unit)})</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
