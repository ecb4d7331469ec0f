"""The dashboard's chart geometry: pure functions, no browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hookdoor.console.charts import HEIGHT, bar_chart, buckets, minute_key, nice_ceiling, regroup

END = datetime(2026, 3, 1, 12, 30, 42, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_buckets_end_at_the_current_minute() -> None:
    starts = buckets(END, timedelta(hours=1), timedelta(minutes=15))
    assert [s.strftime("%H:%M") for s in starts] == ["11:45", "12:00", "12:15", "12:30"]


def test_minutes_are_regrouped_into_buckets() -> None:
    starts = buckets(END, timedelta(minutes=30), timedelta(minutes=15))
    per_minute = {minute_key(starts[0] + MINUTE * 3): {"succeeded": 2}, minute_key(starts[0] + MINUTE * 14): {
        "succeeded": 1, "failed": 4}, minute_key(starts[1]): {"failed": 1}}
    assert regroup(per_minute, starts, timedelta(minutes=15)) == [{"succeeded": 3, "failed": 4}, {"failed": 1}]


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 2, 3, 7, 11, 60, 101, 4999)] == [1, 1, 2, 5, 10, 20, 100, 200, 5000]


def test_bars_stack_and_scale_to_the_top() -> None:
    starts = buckets(END, timedelta(minutes=3), MINUTE)
    chart = bar_chart(starts, [{}, {"succeeded": 3, "failed": 2}, {"succeeded": 10}], ("succeeded", "failed"),
                      MINUTE, label_every=1)
    assert chart.total == 15
    assert [tick.label for tick in chart.y_ticks] == ["0", "5", "10"]
    succeeded, failed, full = chart.bars
    assert (succeeded.series, failed.series) == ("succeeded", "failed")
    assert failed.y + failed.height == succeeded.y  # stacked
    assert full.height == chart.baseline - 12.0  # the tallest bar reaches the top of the plot
    assert succeeded.y + succeeded.height == chart.baseline == HEIGHT - 30.0
    assert "3 succeeded" in succeeded.title and [t.label for t in chart.x_ticks] == ["12:28", "12:29", "12:30"]


def test_an_empty_chart_has_an_axis_and_no_bars() -> None:
    chart = bar_chart(buckets(END, timedelta(hours=3), MINUTE), [{}] * 180, ("events",), MINUTE, label_every=30)
    assert chart.bars == [] and chart.total == 0 and len(chart.x_ticks) == 6
    assert [tick.label for tick in chart.y_ticks] == ["0", "1"]
