"""Bar charts as plain geometry, drawn by the template as inline SVG (no chart library).

Pure functions: counts per minute in, rectangles and axis labels out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

WIDTH, HEIGHT = 720.0, 220.0
LEFT, RIGHT, TOP, BOTTOM = 48.0, 8.0, 12.0, 30.0


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    total: int
    width: float = WIDTH
    height: float = HEIGHT

    @property
    def baseline(self) -> float:
        return self.height - BOTTOM


def buckets(end: datetime, span: timedelta, step: timedelta) -> list[datetime]:
    """The starts of the buckets covering ``span`` up to ``end`` (a whole minute), oldest first."""
    last = end.replace(second=0, microsecond=0)
    count = int(span / step)
    return [last - step * (count - 1 - i) for i in range(count)]


def minute_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def regroup(per_minute: dict[str, dict[str, int]], starts: list[datetime], step: timedelta) -> list[dict[str, int]]:
    """Per-minute counts summed into the buckets that start at ``starts``."""
    minutes = int(step / timedelta(minutes=1))
    grouped = []
    for start in starts:
        total: dict[str, int] = {}
        for offset in range(minutes):
            for series, count in per_minute.get(minute_key(start + timedelta(minutes=offset)), {}).items():
                total[series] = total.get(series, 0) + count
        grouped.append(total)
    return grouped


def nice_ceiling(value: int) -> int:
    """1, 2, 5, 10, 20, 50...: a round top for the y axis."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= value)


def bar_chart(starts: list[datetime], counts: list[dict[str, int]], series: tuple[str, ...],
              step: timedelta, label_every: int) -> Chart:
    """Stacked bars, one per bucket, ``series`` stacked bottom to top."""
    top = nice_ceiling(max((sum(c.get(s, 0) for s in series) for c in counts), default=0))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(starts), 1)
    gap = min(1.0, slot * 0.2)
    bars: list[Bar] = []
    for index, (start, count) in enumerate(zip(starts, counts, strict=True)):
        y = HEIGHT - BOTTOM
        for name in series:
            value = count.get(name, 0)
            if not value:
                continue
            height = plot_height * value / top
            y -= height
            title = f"{start:%H:%M}–{start + step:%H:%M} UTC: {value} {name}"
            bars.append(Bar(LEFT + index * slot + gap / 2, y, slot - gap, height, name, title))
    x_ticks = [Tick(LEFT + i * slot, f"{start:%H:%M}") for i, start in enumerate(starts) if i % label_every == 0]
    levels = (0, top // 2, top) if top % 2 == 0 else (0, top)
    y_ticks = [Tick(HEIGHT - BOTTOM - plot_height * level / top, _count(level)) for level in levels]
    total = sum(sum(c.get(s, 0) for s in series) for c in counts)
    return Chart(bars, x_ticks, y_ticks, total)


def _count(value: int) -> str:
    return f"{value / 1000:g}k" if value >= 10000 else str(value)
