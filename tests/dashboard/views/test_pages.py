"""Every page in Streamlit's real AppTest on hand-made rows: the shown figures, worked out by hand.

Each lake holds gold/daily_active_users rows for days 0-5 (the days the sidebar offers) and the
page's own table. Periods: the range days 3-5 against days 0-2.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from eventlake.catalog import (
    AUDIT_RESTATEMENTS,
    GOLD_COHORT_RETENTION,
    GOLD_CUSTOMER_RFM,
    GOLD_FUNNEL_DAILY,
    GOLD_LIFECYCLE_DAILY,
    GOLD_PRODUCT_PERFORMANCE,
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_REVENUE_DAILY,
    GOLD_SESSIONS_DAILY,
    SILVER_SESSIONS,
    SILVER_USERS,
)
from eventlake.default_products import PRODUCTS
from tests.dashboard.conftest import MakeApp, Put

D = [date(2024, 3, 1) + timedelta(days=i) for i in range(6)]
LAST_THREE = (D[3], D[5])


@pytest.fixture(autouse=True)
def six_days(write_users) -> None:
    """Days 0-5 with active users, so the sidebar offers them."""
    write_users([(d, 10 + i, 20 + i, 30 + i) for i, d in enumerate(D)])


def frame_of(at: AppTest, index: int) -> pl.DataFrame:
    """Returns the index-th table the page shows, as Polars."""
    return pl.from_pandas(at.dataframe[index].value)


def test_revenue_page_totals_per_currency_against_the_previous_period(
    app: MakeApp, write_revenue, put: Put, page
) -> None:
    write_revenue(
        [
            (D[0], "EUR", 2, 20.0), (D[1], "EUR", 1, 10.0), (D[1], "USD", 1, 5.0),
            (D[2], "EUR", 1, 30.0), (D[3], "EUR", 3, 60.0), (D[3], "USD", 2, 8.0),
            (D[4], "EUR", 1, 10.0), (D[5], "EUR", 2, 50.0), (D[5], "GBP", 1, 7.0),
        ]
    )  # fmt: skip
    p1, p2 = PRODUCTS[0], PRODUCTS[1]
    put(GOLD_REVENUE_BY_PRODUCT, [
        {"day": D[3], "product_id": p1.product_id, "currency": "EUR", "units": 2, "revenue": 40.0},
        {"day": D[5], "product_id": p1.product_id, "currency": "EUR", "units": 1, "revenue": 20.0},
        {"day": D[4], "product_id": p2.product_id, "currency": "EUR", "units": 5, "revenue": 10.0},
        {"day": D[3], "product_id": p2.product_id, "currency": "USD", "units": 1, "revenue": 8.0},
    ])  # fmt: skip

    at = page.open(app, "revenue.py", LAST_THREE)

    assert page.metrics(at) == {
        "Revenue (EUR)": ("120.00 EUR", "+60.00"),
        "Revenue (USD)": ("8.00 USD", "+3.00"),
        "Revenue (GBP)": ("7.00 GBP", ""),  # no GBP order before: no change
    }
    by_day = frame_of(at, 0)
    assert by_day.select("currency", "orders", "revenue").rows() == [
        ("EUR", 3, 60.0), ("USD", 2, 8.0), ("EUR", 1, 10.0), ("EUR", 2, 50.0), ("GBP", 1, 7.0),
    ]  # fmt: skip
    products = frame_of(at, 1)
    assert products.select("product_id", "name", "currency", "units", "revenue").rows() == [
        (p1.product_id, p1.name, "EUR", 3, 60.0),
        (p2.product_id, p2.name, "EUR", 5, 10.0),
        (p2.product_id, p2.name, "USD", 1, 8.0),
    ]
    categories = frame_of(at, 2)
    assert set(categories["category"]) == {p1.category, p2.category}
    labels = {b.label for b in at.get("download_button")}
    assert {"⬇️ Revenue by day (CSV)", "⬇️ Revenue by product (CSV)"} <= labels


def test_currency_filter_keeps_only_that_currency(app: MakeApp, write_revenue, page) -> None:
    write_revenue([(D[3], "EUR", 3, 60.0), (D[3], "USD", 2, 8.0), (D[0], "USD", 1, 2.0)])

    at = page.open(app, "revenue.py", LAST_THREE)
    at.multiselect(key="filter_currency").set_value(["USD"]).run()

    page.assert_clean(at)
    assert page.metrics(at) == {"Revenue (USD)": ("8.00 USD", "+6.00")}
    assert frame_of(at, 0)["currency"].to_list() == ["USD"]
    assert any("Filters: currency USD" in c.value for c in at.caption)


def test_funnel_page_sums_steps_and_rates_over_the_period(app: MakeApp, put: Put, page) -> None:
    counts = [(10, 5, 2), (20, 8, 4), (30, 10, 4), (40, 20, 10), (50, 20, 5), (10, 4, 1)]
    put(GOLD_FUNNEL_DAILY, [
        {"day": d, "viewed": v, "carted": c, "ordered": o, "view_to_cart_rate": c / v,
         "cart_to_order_rate": o / c, "view_to_order_rate": o / v, "median_seconds_to_order": 60.0}
        for d, (v, c, o) in zip(D, counts, strict=True)
    ])  # fmt: skip

    at = page.open(app, "funnel.py", LAST_THREE)

    assert page.metrics(at) == {
        "Viewed": ("100", "+40"),
        "Carted": ("44", "+21"),
        "Ordered": ("16", "+6"),
        "View → cart": ("44.0%", "+5.7 pp"),  # 44/100 against 23/60
        "Cart → order": ("36.4%", "-7.1 pp"),  # 16/44 against 10/23
        "View → order": ("16.0%", "-0.7 pp"),  # 16/100 against 10/60
    }
    steps = pl.concat(page.charts(at)[0][1])
    assert steps["users"].to_list() == [100, 44, 16]
    assert frame_of(at, 0)["day"].dt.date().to_list() == D[3:]


def test_retention_page_shows_the_cohorts_of_the_range(app: MakeApp, put: Put, page) -> None:
    a, b = date(2024, 2, 26), date(2024, 3, 4)  # Mondays: the weeks of days 0 and 3
    cells = [(a, 0, 10, 10), (a, 1, 10, 4), (a, 2, 10, 2), (b, 0, 20, 20), (b, 1, 20, 6)]
    put(GOLD_COHORT_RETENTION, [
        {"cohort_week": w, "week_offset": k, "cohort_size": n, "active_users": m,
         "retention_rate": m / n} for w, k, n, m in cells
    ])  # fmt: skip

    at = page.open(app, "retention.py")

    assert page.metrics(at) == {
        "Cohorts": ("2", ""),
        "Signups": ("30", ""),
        "Week-1 retention": ("33.3%", ""),  # (4 + 6) / (10 + 20)
        "Week-4 retention": ("–", ""),
    }
    (heatmap, data), *_ = page.charts(at)
    assert heatmap["layer"][0]["mark"]["type"] == "rect"
    assert sorted(pl.concat(data)["retention_rate"].to_list()) == [0.2, 0.3, 0.4, 1.0, 1.0]


def test_sessions_page_weighs_durations_by_sessions(app: MakeApp, put: Put, page) -> None:
    daily = [(5, 30.0), (5, 30.0), (10, 90.0), (10, 60.0), (30, 120.0), (0, None)]
    put(GOLD_SESSIONS_DAILY, [
        {"day": d, "sessions": n, "avg_duration_s": s, "p50_duration_s": s, "p90_duration_s": s}
        for d, (n, s) in zip(D, daily, strict=True)
    ])  # fmt: skip
    start = datetime(2024, 3, 4, 10, tzinfo=UTC)
    put(SILVER_SESSIONS, [
        {"day": d, "user_id": f"u{i}", "session_id": f"s{i}", "started_at": start,
         "ended_at": start, "events": 1, "duration_s": s}
        for i, (d, s) in enumerate([(D[3], 0.0), (D[4], 0.0), (D[4], 30.0), (D[5], 200.0),
                                    (D[5], 4000.0), (D[1], 10.0)])
    ])  # fmt: skip

    at = page.open(app, "sessions.py", LAST_THREE)

    assert page.metrics(at) == {
        "Sessions": ("40", "+20"),
        "Sessions per day": ("13", ""),
        "Average duration": ("1.8 min", "+45 s"),  # (600 + 3600) / 40 against 1200 / 20
    }
    lengths = frame_of(at, 0)
    assert dict(lengths.select("bucket", "sessions").rows()) == {
        "0 s (one event)": 2, "1 s - 1 min": 1, "1 - 5 min": 1, "5 - 15 min": 0,
        "15 - 30 min": 0, "30 min - 1 h": 0, "1 h or more": 1,
    }  # fmt: skip


RFM = [  # user, frequency, monetary, segment, country
    ("u1", 3, 100.0, "champions", "DE"),
    ("u2", 2, 50.0, "loyal", "FR"),
    ("u3", 1, 10.0, "lost", "DE"),
    ("u4", 1, 20.0, "lost", None),
    ("u5", 5, 300.0, "champions", "FR"),
]


def test_customers_page_and_its_segment_filter(app: MakeApp, put: Put, page) -> None:
    put(GOLD_CUSTOMER_RFM, [
        {"user_id": u, "recency_days": 1, "frequency": f, "monetary": m, "r_score": 3,
         "f_score": 3, "m_score": 3, "segment": s, "last_order_day": D[4], "as_of_day": D[5],
         "unvalued_orders": 0} for u, f, m, s, _ in RFM
    ])  # fmt: skip
    put(SILVER_USERS, [{"user_id": u, "country": c, "plan": "free"} for u, *_, c in RFM])

    at = page.open(app, "customers.py")

    assert page.metrics(at) == {
        "Customers": ("5", ""),
        "Champions": ("40.0%", ""),
        "Mean spend": ("96.00 EUR", ""),
        "Mean orders": ("2.40", ""),
    }
    segments = frame_of(at, 0)
    assert segments.select("segment", "customers").rows() == [
        ("champions", 2), ("loyal", 1), ("lost", 2),
    ]  # fmt: skip
    assert at.multiselect(key="filter_country").options == ["DE", "FR"]

    at.multiselect(key="filter_country").set_value(["DE"]).run()

    assert page.metrics(at)["Customers"] == ("2", "")
    assert sorted(frame_of(at, 1)["user_id"]) == ["u1", "u3"]


def test_products_page_sums_and_ranks_products(app: MakeApp, put: Put, page) -> None:
    p1, p2 = PRODUCTS[0], PRODUCTS[30]
    rows = [
        (D[1], p1, 10, 2, 1, 5.0), (D[3], p1, 20, 4, 2, 30.0),
        (D[4], p2, 50, 5, 1, 80.0), (D[5], p1, 10, 1, 0, 0.0),
    ]  # fmt: skip
    put(GOLD_PRODUCT_PERFORMANCE, [
        {"day": d, "product_id": p.product_id, "category": p.category, "views": v,
         "add_to_carts": c, "units": u, "revenue": r} for d, p, v, c, u, r in rows
    ])  # fmt: skip

    at = page.open(app, "products.py", LAST_THREE)

    assert page.metrics(at) == {
        "Product views": ("80", "+70"),
        "Add-to-carts": ("10", "+8"),
        "Units sold": ("3", "+2"),
        "Revenue (EUR)": ("110.00 EUR", "+105.00"),
    }
    totals = frame_of(at, 0)
    assert totals.select("product_id", "name", "views", "units", "revenue").rows() == [
        (p2.product_id, p2.name, 50, 1, 80.0),
        (p1.product_id, p1.name, 30, 2, 30.0),
    ]


def test_lifecycle_page_shows_the_latest_day_against_the_day_before(
    app: MakeApp, put: Put, page
) -> None:
    groups = [(5, 3, 1, 2), (4, 4, 2, 1), (3, 5, 1, 3), (2, 6, 0, 4), (1, 7, 1, 2), (6, 4, 2, 3)]
    put(GOLD_LIFECYCLE_DAILY, [
        {"day": d, "active": n + r + s, "new": n, "returning": r, "resurrecting": s, "dormant": o}
        for d, (n, r, s, o) in zip(D, groups, strict=True)
    ])  # fmt: skip

    at = page.open(app, "lifecycle.py", LAST_THREE)

    assert page.metrics(at) == {
        "Active": ("12", "+3"),
        "New": ("6", "+5"),
        "Returning": ("4", "-3"),
        "Resurrecting": ("2", "+1"),
        "Dormant": ("3", "+1"),
    }
    bars = pl.concat(page.charts(at)[0][1])
    assert bars.filter(pl.col("group") == "dormant")["users"].to_list() == [-4, -2, -3]


def test_restated_figures_are_marked_with_their_reason(
    app: MakeApp, write_revenue, put: Put, page
) -> None:
    write_revenue([(D[5], "EUR", 2, 50.0), (D[4], "EUR", 1, 10.0)])
    put(AUDIT_RESTATEMENTS, [{
        "restated_at": datetime(2024, 3, 7, 2, 0, tzinfo=UTC), "table": GOLD_REVENUE_DAILY.name,
        "day": D[5], "key": '{"currency":"EUR"}', "column": "revenue", "old_value": 40.0,
        "new_value": 50.0, "old_version": 3, "new_version": 4, "cause": "late_events",
        "run_id": "run-1",
    }])  # fmt: skip

    at = page.open(app, "revenue.py", LAST_THREE)

    by_day = frame_of(at, 0)
    marks = dict(zip(by_day["day"].dt.date(), by_day["restated"], strict=True))
    assert marks[D[4]] is None
    assert marks[D[5]].startswith("✏️ revenue 40 → 50 on 2024-03-07 02:00 UTC: late events")
    (ledger,) = [e for e in at.main.expander if e.label.startswith("✏️")]
    assert ledger.label == "✏️ Restated figures (1)"

    at.switch_page("views/overview.py").run()
    assert page.metrics(at)["Revenue (EUR) ✏️"][0] == "50.00 EUR"
    (marked,) = [m for m in at.metric if m.label == "Revenue (EUR) ✏️"]
    assert "late events arrived" in marked.help
