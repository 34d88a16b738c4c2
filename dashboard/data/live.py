"""Today's figures computed from the newest log data: bronze/events of the day, seconds old.

The gold tables hold today's partition only after the next materialization (a minute or so in
the running stack). The live figures do not wait: they read today's bronze partition, clean it
as silver does (earliest-ingested copy of each event id, registered types), decode it with the
typed-silver projections and run the same pure gold projections of `assets/` on it, with the
earlier days they need read from silver. They are provisional: a copy of an event already
counted on another day, which silver drops, still counts here until gold replaces the day.
No Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl

from dashboard.data import reads
from dashboard.data.scope import Scope, Segment
from dashboard.data.segments import matching, restrict, users_of
from eventlake import lake
from eventlake.catalog import (
    BRONZE_EVENTS,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_FUNNEL_DAILY,
    GOLD_REVENUE_DAILY,
    SILVER_ORDERS,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_USERS,
)
from eventlake.log_rules import WINNER_ORDER
from eventlake.settings import Settings

_COLUMNS = ("event_id", "event_type", "event_time", "event_date", "payload", *WINNER_ORDER)
_USER_ID = r'"user_id":"([^"\\]*)"'  # in compact JSON, an id without escapes
ORDER_HASH = pl.col("order_id").hash(seed=0x0D3E)
_USER_HASH = pl.col("user_id").hash(seed=0x05E7)  # 64 bits: a collision is ~1e-9 at 10M users


@dataclass(frozen=True)
class LiveDay:
    """One day's figures from the log, in the schemas of their gold tables."""

    day: date
    users: pl.DataFrame  # one row, gold/daily_active_users columns
    revenue: pl.DataFrame  # one row per currency, gold/revenue_daily columns
    funnel: pl.DataFrame  # one row, gold/funnel_daily columns
    events: int  # distinct registered events of the day read from the log (of the types read)
    bronze_version: int | None  # the bronze/events version read
    newest_event: datetime | None  # the newest event time of the day
    computed_at: datetime


def day_events(
    settings: Settings, day: date, types: tuple[str, ...] | None = None
) -> tuple[pl.DataFrame, int | None]:
    """Returns the day's bronze events, one per event id, registered types only, with `user_id`.

    The copy that wins is the earliest ingested (ties: topic, partition, offset), as in silver.
    Also returns the bronze/events version read (None when the table does not exist).

    Args:
        types: only events of these types (None: all); copies of an event share its type.
    """
    table = lake.open_table(settings, BRONZE_EVENTS)
    if table is None:
        return _empty_events(), None
    version = table.version()
    rows = reads.collect(
        BRONZE_EVENTS,
        reads.scan_days(settings, BRONZE_EVENTS, day, day)
        .filter(pl.col("registered"), *([pl.col("event_type").is_in(types)] if types else []))
        .select(_COLUMNS)
        .with_columns(user_id=pl.col("payload").str.extract(_USER_ID)),
    )
    repeated = rows["event_id"].is_duplicated()
    if repeated.any():  # re-delivered copies are rare: sort only them, not the whole day
        winners = (
            rows.filter(repeated)
            .sort(WINNER_ORDER, nulls_last=True)
            .unique("event_id", keep="first", maintain_order=True)
        )
        rows = pl.concat([rows.filter(~repeated), winners])
    return with_user_id(rows.drop(WINNER_ORDER)), version


def with_user_id(events: pl.DataFrame) -> pl.DataFrame:
    """Returns `events` with `user_id` lifted out of the payload, as silver does.

    The ingester writes payloads as compact JSON, where a regular expression (`_USER_ID`, run
    while reading) finds the id at half the cost of a JSON parse; a payload it cannot read that
    way (spaces, escapes) is parsed as JSON here.
    """
    if "user_id" not in events.columns:
        events = events.with_columns(user_id=pl.col("payload").str.extract(_USER_ID))
    unsure = pl.col("user_id").is_null() & pl.col("payload").str.contains('"user_id"', literal=True)
    if not events.select(unsure.any()).item():
        return events
    parsed = pl.col("payload").str.json_path_match("$.user_id")
    return events.with_columns(user_id=pl.when(unsure).then(parsed).otherwise("user_id"))


def _empty_events() -> pl.DataFrame:
    schema = {name: BRONZE_EVENTS.schema[name] for name in _COLUMNS[:5]}
    return pl.DataFrame(schema={**schema, "user_id": pl.String()})


def past_last_active(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per user of the scope's segment active in the 29 days before its last
    day: a 64-bit hash of their id (`user_hash`) and their last active day (`event_date`), from
    silver/user_activity_daily as of the scope's moment.

    For the WAU and MAU of `day`, a user's last active day before it is all that matters, so
    this short frame stands in for every earlier (user, day) row; hashes make it cheap to keep
    in the cache and to join.
    """
    from assets.active_users import LOOKBACK_DAYS  # deferred: see the package docstring

    day, as_of = scope.last, scope.as_of
    start = day - timedelta(days=LOOKBACK_DAYS)
    activity = reads.scan_days(
        settings, SILVER_USER_ACTIVITY_DAILY, start, day - timedelta(days=1), as_of
    )
    activity = restrict(activity, users_of(settings, scope.segment, as_of))
    return reads.collect(
        SILVER_USER_ACTIVITY_DAILY,
        activity.group_by(user_hash=_USER_HASH).agg(event_date=pl.col("day").max()),
    )


def past_order_ids(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per order id of silver/orders (as of the scope's moment) dated before the
    scope's last day: its 64-bit hash (`order_hash`; 8 bytes an order: cheap to keep in the
    cache and to join).

    An order counts at its earliest event, so an order id seen on an earlier day never counts
    on `day`.
    """
    frame = lake.scan(settings, SILVER_ORDERS, version=scope.as_of).filter(
        pl.col("event_date") < scope.last
    )
    return reads.collect(SILVER_ORDERS, frame.select(order_hash=ORDER_HASH))


def segment_today(
    settings: Settings, events: pl.DataFrame, segment: Segment
) -> pl.LazyFrame | None:
    """Returns the users of `segment`: from silver/users, plus those whose first signup is in
    today's log (not in silver yet); None for everyone."""
    from assets.typed_silver import user_signups  # deferred: see the package docstring

    known = users_of(settings, segment, None)
    if known is None:
        return None
    signed = reads.versioned(
        settings, SILVER_USERS, None, ("signed up",),
        lambda: lake.scan(settings, SILVER_USERS)
        .filter(pl.col("signed_up_at").is_not_null())
        .select("user_id"),
    )  # fmt: skip
    new = user_signups(events.lazy()).join(signed.lazy(), on="user_id", how="anti")
    new = new.sort("event_time", "event_id").unique("user_id", keep="first")
    return pl.concat([known, matching(new, segment).select("user_id")]).unique()


def active_users(past: pl.LazyFrame, today: pl.LazyFrame, day: date) -> pl.LazyFrame:
    """One row in the gold/daily_active_users schema for `day`.

    dau = distinct users of `today`; wau and mau add the users of `past` (one row per user hash:
    their last active day before `day`) last active within the 6 or 29 days before, who were
    not active on `day`. The same figures as `assets.active_users.daily_active_users` (the
    tests hold them equal), with one anti-join instead of a sort of every (user, day) pair.
    """
    from assets.active_users import LOOKBACK_DAYS, WAU_DAYS  # deferred: see the package docstring

    users = today.select("user_id").drop_nulls().unique().select(user_hash=_USER_HASH)
    others = past.join(users, on="user_hash", how="anti")
    since = pl.col("event_date") >= day - timedelta(days=WAU_DAYS - 1)
    counts = users.select(dau=pl.len()).join(
        others.select(
            week=since.sum(),
            month=(pl.col("event_date") >= day - timedelta(days=LOOKBACK_DAYS)).sum(),
        ),
        how="cross",
    )
    return (
        counts.select(
            day=pl.lit(day),
            dau="dau",
            wau=pl.col("dau") + pl.col("week"),
            mau=pl.col("dau") + pl.col("month"),
        )
        .with_columns(
            stickiness=pl.when(pl.col("mau") > 0).then(pl.col("dau") / pl.col("mau")).otherwise(0.0)
        )
        .cast(GOLD_DAILY_ACTIVE_USERS.schema)
    )


def _funnel_steps(events: pl.LazyFrame) -> pl.LazyFrame:
    """The product views and add-to-carts of `events` with what the funnel reads of them
    (user, type, time, day): their payloads (product, quantity) need no decoding for it."""
    kinds = pl.col("event_type").is_in(["product_view", "add_to_cart"])
    return events.filter(kinds).select("event_type", "event_time", "event_date", "user_id")


def live_day(
    settings: Settings,
    day: date,
    segment: Segment,
    past_users: pl.DataFrame | None,
    past_orders: pl.DataFrame,
) -> LiveDay:
    """Returns the figures of `day` computed from its bronze events.

    Args:
        past_users: `past_last_active` of `day` and `segment` (may come from a cache); None:
            revenue only (the page needs no active users or funnel): then only the day's
            orders and signups are read, and `users` and `funnel` are empty.
        past_orders: `past_order_ids` of `day` (may come from a cache).
    """
    from assets.funnel import funnel_daily  # deferred: see the package docstring
    from assets.revenue import revenue_daily
    from assets.typed_silver import decoded_orders, orders

    only_revenue = past_users is None
    types = ("order_placed", "user_signup") if only_revenue else None
    events, version = day_events(settings, day, types)
    users = segment_today(settings, events, segment)
    mine = restrict(events.lazy(), users)
    placed = (
        orders(decoded_orders(mine))
        .with_columns(order_hash=ORDER_HASH)
        .join(past_orders.lazy(), on="order_hash", how="anti")
        .drop("order_hash")
    )
    if past_users is None:
        dau, funnel = GOLD_DAILY_ACTIVE_USERS.empty(), GOLD_FUNNEL_DAILY.empty()
        revenue = reads.collect(GOLD_REVENUE_DAILY, revenue_daily(placed, day, day))
    else:
        frames = [
            active_users(past_users.lazy(), mine, day),
            revenue_daily(placed, day, day),
            funnel_daily(_funnel_steps(mine), placed, day, day),
        ]
        specs = [GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY, GOLD_FUNNEL_DAILY]
        dau, revenue, funnel = reads.collect_all(specs, frames)
    return LiveDay(
        day=day,
        users=dau,
        revenue=revenue,
        funnel=funnel,
        events=events.height,
        bronze_version=version,
        newest_event=events["event_time"].max() if events.height else None,  # type: ignore[arg-type]
        computed_at=datetime.now(UTC),
    )
