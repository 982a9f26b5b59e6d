"""The revenue report's pure parts: SVG charts (well-formed, one bar per bucket, no data,
negative values, escaped text), the window a query asks for, and what each ledger entry
counts as."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest

from server.admin.charts import chart, compact
from server.admin.reports import csv_of, series_of, window_of
from server.http.errors import ApiError

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)  # 22 Nov already in India


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def bars(svg: ET.Element) -> list[ET.Element]:
    return list(svg.iter(f"{SVG}rect"))


def test_a_bar_chart_is_well_formed_accessible_and_has_one_bar_per_bucket() -> None:
    labels = [f"{d} Nov" for d in range(1, 31)]
    values = [i * 1000 for i in range(30)]
    svg = parse(chart("c1", "Gross bookings", "per day", labels, values, money=True))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "c1-title c1-desc"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None and title.get("id") == "c1-title" and title.text == "Gross bookings"
    assert desc is not None and desc.get("id") == "c1-desc"
    assert svg.get("viewBox") == "0 0 400 220" and svg.get("width") is None  # scales to fit
    drawn = bars(svg)
    assert len(drawn) == 30
    heights = [float(b.get("height", "0")) for b in drawn]
    assert heights[0] == 0 and heights == sorted(heights) and heights[-1] > 100
    tips = [b.findtext(f"{SVG}title") for b in drawn]
    assert tips[-1] == "30 Nov: ₹290.00"
    axis = [t.text for t in svg.iter(f"{SVG}text")]
    assert "₹0" in axis and "₹300" in axis  # the axis in rupees, up to a round number
    assert sum(1 for t in axis if t and t.endswith("Nov")) <= 6  # labels thinned, not squeezed


def test_no_data_still_draws_an_axis_and_a_flat_bar_for_every_bucket() -> None:
    svg = parse(chart("c2", "TDS payable", "none", ["a", "b", "c"], [0, 0, 0], money=True))
    assert [b.get("height") for b in bars(svg)] == ["0", "0", "0"]
    assert [t.text for t in svg.iter(f"{SVG}text")][:2] == ["₹0", "₹1"]
    counts = parse(chart("c3", "No-shows", "none", ["a"], [0], money=False, kind="line"))
    assert len(list(counts.iter(f"{SVG}circle"))) == 1


def test_negative_values_go_below_a_zero_line() -> None:
    """A refund-heavy day: platform revenue is negative."""
    svg = parse(chart("c4", "Platform revenue", "d", ["1", "2"], [5000, -2500], money=True))
    up, down = bars(svg)
    zero = next(line for line in svg.iter(f"{SVG}line") if line.get("class") == "zero")
    zero_y = float(zero.get("y1", "nan"))
    assert float(up.get("y", "0")) + float(up.get("height", "0")) == pytest.approx(zero_y)
    assert float(down.get("y", "0")) == pytest.approx(zero_y)
    assert "negative" in (down.get("class") or "") and float(down.get("height", "0")) > 0
    assert down.findtext(f"{SVG}title") == "2: −₹25.00"
    assert "−₹20" in [t.text for t in svg.iter(f"{SVG}text")]


def test_a_line_chart_has_a_path_and_a_point_per_bucket() -> None:
    svg = parse(
        chart("c5", "Calls", "d", ["a", "b", "c", "d"], [1, 3, 0, 2], money=False, kind="line")
    )
    (path,) = list(svg.iter(f"{SVG}path"))
    assert path.get("d", "").count("L") == 3
    assert len(list(svg.iter(f"{SVG}circle"))) == 4
    assert "₹" not in ET.tostring(svg, encoding="unicode")


def test_every_text_is_escaped() -> None:
    markup = chart('x"><script>', "<b>&", "</desc><script>", ["<i>"], [1], money=False)
    svg = parse(markup)  # still well-formed
    assert "<script>" not in markup and "<b>" not in markup
    assert svg.findtext(f"{SVG}title") == "<b>&"


def test_axis_labels_use_indian_units() -> None:
    assert compact(150_000, True) == "₹1.5k"
    assert compact(25_000_000, True) == "₹2.5L"
    assert compact(-1_200_000_000, True) == "−₹1.2Cr"
    assert compact(1500, False) == "1.5k"


def test_the_window_defaults_and_widens_to_whole_buckets() -> None:
    day = window_of({}, NOW)
    assert (day.period, day.first, day.last, day.tz) == (
        "day",
        date(2026, 10, 23),
        NOW.date(),
        "UTC",
    )
    assert len(day.starts()) == 30
    india = window_of({"tz": "Asia/Kolkata"}, NOW)
    assert india.last == date(2026, 11, 22)
    assert india.starts_at == datetime(2026, 10, 23, 18, 30, tzinfo=UTC)  # local midnight
    weeks = window_of({"period": "week"}, NOW)
    assert len(weeks.starts()) == 12 and weeks.first.weekday() == 0 and weeks.last.weekday() == 6
    months = window_of({"period": "month", "from": "2026-01-15", "to": "2026-03-02"}, NOW)
    assert (months.first, months.last) == (date(2026, 1, 1), date(2026, 3, 31))
    assert len(months.starts()) == 3
    december = window_of({"period": "month", "from": "2025-12-05", "to": "2026-01-01"}, NOW)
    assert december.starts() == [date(2025, 12, 1), date(2026, 1, 1)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "year"}, "period"),
        ({"from": "21-11-2026"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "1999-12-31"}, "from"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"tz": "../../etc/passwd"}, "tz"),
        ({"from": "2026-11-22", "to": "2026-11-21"}, "from"),
        ({"from": "2025-01-01", "to": "2026-11-21"}, "from"),  # 690 days: over 400 buckets
    ],
)
def test_a_bad_query_is_a_400_naming_the_parameter(params: dict[str, str], field: str) -> None:
    with pytest.raises(ApiError) as caught:
        window_of(params, NOW)
    assert (caught.value.status, caught.value.field) == (400, field)


def test_what_each_ledger_entry_counts_as() -> None:
    assert series_of("capture", "escrow:4", 15000) == ("gross_bookings_paise", 15000)
    assert series_of("capture", "gateway_clearing", -15000) is None
    assert series_of("sponsor_capture", "escrow:5", 15000) == ("gross_bookings_paise", 15000)
    assert series_of("sponsor_capture", "sponsor:1", -15000) is None
    assert series_of("refund", "sponsor:1", 15000) == ("refunds_paise", 15000)
    assert series_of("sponsor_topup", "sponsor:1", 100000) is None
    assert series_of("settle", "escrow:4", -15000) is None
    assert series_of("dispute_refund", "platform_revenue", -900) == ("platform_revenue_paise", -900)
    assert series_of("payout_failed", "tds_payable", -100) == ("tds_payable_paise", -100)
    assert series_of("refund", "refunds", 7500) == ("refunds_paise", 7500)
    assert series_of("refund_paid", "refunds", -7500) is None  # paid out: counted when owed
    assert series_of("payout", "wallet:3", -56000) == ("mentor_payouts_paise", 56000)
    assert series_of("payout_failed", "wallet:3", 56000) == ("mentor_payouts_paise", -56000)
    assert series_of("settle", "wallet:3", 10500) is None


def test_the_csv_has_paise_and_rupees_and_a_totals_row() -> None:
    from server.admin.reports import Bucket, Report, Window

    window = Window("day", "UTC", date(2026, 11, 20), date(2026, 11, 21))
    keys = [
        "gross_bookings_paise", "platform_revenue_paise", "gst_payable_paise",
        "tds_payable_paise", "refunds_paise", "mentor_payouts_paise", "calls_completed",
        "no_shows",
    ]  # fmt: skip
    one = dict.fromkeys(keys, 0) | {"platform_revenue_paise": -1205, "calls_completed": 2}
    two = dict.fromkeys(keys, 0) | {"platform_revenue_paise": 5}
    total = dict.fromkeys(keys, 0) | {"platform_revenue_paise": -1200, "calls_completed": 2}
    report = Report(
        window,
        [
            Bucket(date(2026, 11, 20), date(2026, 11, 20), "2026-11-20", "20 Nov", one),
            Bucket(date(2026, 11, 21), date(2026, 11, 21), "2026-11-21", "21 Nov", two),
        ],
        total,
    )
    rows = [line.split(",") for line in csv_of(report).splitlines()]
    assert rows[0][:7] == [
        "bucket", "from", "to", "gross_bookings_paise", "gross_bookings_rupees",
        "platform_revenue_paise", "platform_revenue_rupees",
    ]  # fmt: skip
    assert rows[0][-2:] == ["calls_completed", "no_shows"]
    assert rows[1][5:7] == ["-1205", "-12.05"] and rows[2][5:7] == ["5", "0.05"]
    assert rows[3][:3] == ["total", "2026-11-20", "2026-11-21"]
    assert rows[3][5:7] == ["-1200", "-12.00"] and len(rows) == 4
