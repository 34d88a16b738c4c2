"""The users a segment filter (plan, signup source, country) selects, from silver/users.

The gold tables hold figures over everyone. When a segment is chosen, the pages rebuild the
figures they show from the silver rows of the segment's users with the same pure projections
the assets run (`assets/`), so a filtered figure is computed exactly as its gold twin.
No Streamlit.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from dashboard.data import reads
from dashboard.data.scope import Scope, Segment
from eventlake import lake
from eventlake.catalog import GOLD_REVENUE_DAILY, SILVER_USERS
from eventlake.settings import Settings

ATTRIBUTES: dict[str, str] = {
    "plan": "plan",
    "signup_source": "signup source",
    "country": "country",
}


def segment_users(settings: Settings, segment: Segment, as_of: datetime | None) -> pl.LazyFrame:
    """Returns one row (`user_id`) per user of silver/users whose first signup matches `segment`."""
    return matching(lake.scan(settings, SILVER_USERS, version=as_of), segment).select("user_id")


def matching(users: pl.LazyFrame, segment: Segment) -> pl.LazyFrame:
    """Returns the rows of `users` (signup attributes `plan`, `signup_source`, `country`) whose
    attributes `segment` selects."""
    for column, values in (
        ("plan", segment.plans),
        ("signup_source", segment.sources),
        ("country", segment.countries),
    ):
        if values:
            users = users.filter(pl.col(column).is_in(list(values)))
    return users


def restrict(
    frame: pl.LazyFrame, users: pl.LazyFrame | None, column: str = "user_id"
) -> pl.LazyFrame:
    """Returns the rows of `frame` whose `column` is one of `users` (all rows when None)."""
    if users is None:
        return frame
    return frame.join(users.rename({"user_id": column}), on=column, how="semi")


def users_of(settings: Settings, segment: Segment, as_of: datetime | None) -> pl.LazyFrame | None:
    """Returns `segment_users` (read once per silver/users version), or None for everyone."""
    if segment.is_everyone:
        return None
    found = reads.versioned(
        settings, SILVER_USERS, as_of, ("segment", segment),
        lambda: segment_users(settings, segment, as_of),
    )  # fmt: skip
    return found.lazy()


def filter_options(settings: Settings, scope: Scope) -> dict[str, list[str]]:
    """Returns the values each filter can take as of the scope's moment: the segment attributes
    in silver/users (most users first) and the currencies of gold/revenue_daily (most orders
    first).

    Keys are the column names (`plan`, `signup_source`, `country`, `currency`); null values
    are left out (they cannot be picked).
    """
    as_of = scope.as_of
    users = lake.scan(settings, SILVER_USERS, version=as_of).select(list(ATTRIBUTES))
    currencies = (
        lake.scan(settings, GOLD_REVENUE_DAILY, version=as_of)
        .group_by("currency")
        .agg(n=pl.col("orders").sum())
        .drop_nulls("currency")
        .sort(["n", "currency"], descending=[True, False])
        .select("currency")
    )
    attributes, money = reads.collect_all([SILVER_USERS, GOLD_REVENUE_DAILY], [users, currencies])
    found = [
        attributes.group_by(column)
        .agg(pl.len().alias("n"))
        .drop_nulls(column)
        .sort(["n", column], descending=[True, False])
        for column in ATTRIBUTES
    ]
    found.append(money)
    columns = [*ATTRIBUTES, "currency"]
    return {column: f[column].to_list() for column, f in zip(columns, found, strict=True)}
