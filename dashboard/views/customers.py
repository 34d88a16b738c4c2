"""Customers page: RFM segments (recency, frequency, monetary value) of everyone who ordered."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.shapes import charts, figures
from dashboard.shell import frame, widgets
from eventlake.catalog import GOLD_CUSTOMER_RFM, SILVER_USERS
from eventlake.currencies import REPORTING_CURRENCY

TOP_CUSTOMERS = 500
SEGMENT_ORDER = (
    "champions", "loyal", "new_customers", "promising", "at_risk", "hibernating", "lost",
)  # fmt: skip
INFO = frame.PageInfo(
    title="🧑‍🤝‍🧑 Customers",
    key="customers",
    tables=(GOLD_CUSTOMER_RFM,),
    notes=f"""
- A **customer** is a user with at least one counted order (`order_placed`, the earliest event
  of each `order_id`). Figures are **as of** the last day with any event (`as_of_day`).
- **Recency** = days since their last counted order; **frequency** = counted orders;
  **monetary** = the sum of their orders' totals converted to {REPORTING_CURRENCY} with the
  static rate table (orders in a currency without a rate add nothing; `unvalued_orders`
  counts them) (`{GOLD_CUSTOMER_RFM.name}`).
- **Scores 1-5** are quintiles over all customers (5 = most recent, most orders, most spent).
  **Segment**, the first rule that matches: champions (R, F, M ≥ 4), loyal (R ≥ 3, F ≥ 3),
  new customers (R ≥ 4), promising (R = 3), at risk (F ≥ 3), hibernating (R = 2), lost (R = 1).
- The table is rebuilt whole from every day of the log: the selected days do not apply.
""",
    filters=f"The days and the currency do not apply (RFM is as of the last day, in "
    f"{REPORTING_CURRENCY}). Plan, signup source and country choose which customers are shown "
    f"(their scores stay those computed over every customer), from `{SILVER_USERS.name}`.",
)


def segment_summary(customers: pl.DataFrame) -> pl.DataFrame:
    """Returns one row per segment: customers, share, mean recency, frequency and monetary,
    total monetary; in segment order."""
    total = customers.height
    order = pl.DataFrame({"segment": SEGMENT_ORDER, "rank": range(len(SEGMENT_ORDER))})
    return (
        customers.group_by("segment")
        .agg(
            customers=pl.len(),
            mean_recency_days=pl.col("recency_days").mean(),
            mean_frequency=pl.col("frequency").mean(),
            mean_monetary=pl.col("monetary").mean(),
            monetary=pl.col("monetary").sum(),
        )
        .with_columns(share=pl.col("customers") / total if total else pl.lit(None))
        .join(order, on="segment", how="left")
        .sort("rank", nulls_last=True)
        .select(
            "segment", "customers", "share", "mean_recency_days", "mean_frequency",
            "mean_monetary", "monetary",
        )
    )  # fmt: skip


def body(ctx: frame.Context) -> None:
    """Draws the RFM segments of the chosen users."""
    customers = cache.customers(ctx.settings, ctx.scope)
    if customers.is_empty():
        st.info("No customers yet: nobody has placed an order.", icon="🛒")
        return
    summary = segment_summary(customers)
    as_of = figures.format_moment(customers["as_of_day"].max(), "%Y-%m-%d")
    share = summary.filter(pl.col("segment") == "champions")["share"]
    cells = st.columns(4)
    shown = [
        ("Customers", figures.format_count(customers.height), f"Users with an order, as of {as_of}."),
        ("Champions", figures.format_ratio(share[0] if share.len() else 0.0),
         "Share of customers scoring at least 4 on recency, frequency and monetary value."),
        ("Mean spend", figures.format_amount(figures.number(customers["monetary"].mean()), REPORTING_CURRENCY),
         "Mean monetary value per customer, converted with the static rate table."),
        ("Mean orders", f"{figures.number(customers['frequency'].mean()) or 0:.2f}", "Mean counted orders per customer."),
    ]  # fmt: skip
    for cell, (label, value, help_text) in zip(cells, shown, strict=True):
        with cell:
            widgets.metric(label, value, None, help=help_text)
    st.caption(f"As of {as_of} (the last day with any event).")
    left, right = st.columns(2)
    with left:
        st.subheader("🏷️ Segments")
        widgets.chart(
            charts.bars(summary, "segment", "customers", title="customers", sort_by_value=False)
        )
    with right:
        st.subheader("🟩 Recency × frequency")
        widgets.chart(charts.rfm_grid(customers))
    widgets.table(summary, "Segments", key="rfm_segments")
    top = customers.sort(["monetary", "user_id"], descending=[True, False]).head(TOP_CUSTOMERS)
    widgets.table(
        top, f"Top {TOP_CUSTOMERS} customers", key="rfm_top_customers",
        caption=f"The {TOP_CUSTOMERS} customers with the highest monetary value.",
    )  # fmt: skip


frame.show(INFO, body)
