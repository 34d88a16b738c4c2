"""Synthetic bronze/events for the projection benchmark, generated as one vectorised frame.

Realistic but fast (no Kafka, no Python loop per event): users with power-law activity open
sessions spread over the days with a daily rhythm; a session is a page view followed by page
and product views, logins and logouts, add-to-carts of the product last viewed, and, for some
carts, an order of the carted products priced from the shared product catalog (70 % v2 with
unit prices, 30 % v1 without). 90 % of sessions carry a session id. First sessions include a
signup (v1 or v2). Then the faults a real log holds: re-delivered copies of events (same
event_id, ingested later; a few with another timestamp, on another day), re-sent orders (new
event_id, same order_id, a bit later), events up to 30 days late, and an unregistered type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from eventlake.catalog import BRONZE_EVENTS
from eventlake.default_products import PRODUCTS

FX_FROM_EUR = {"EUR": 1.0, "USD": 1.08, "GBP": 0.85}
_TYPES = ("page_view", "product_view", "add_to_cart", "login", "logout", "coupon_applied")
_TYPE_WEIGHTS = (0.50, 0.33, 0.055, 0.06, 0.05, 0.005)
_US = 1_000_000


@dataclass(frozen=True)
class BenchShape:
    """How much to generate: events (approximately), days, users, seed."""

    events: int = 10_000_000
    days: int = 90
    users: int = 400_000
    first_day: date = date(2026, 1, 1)
    seed: int = 7


def _ids(rng: np.random.Generator, n: int, prefix: str) -> pl.Expr:
    a = pl.Series(rng.integers(0, 2**62, n, dtype=np.int64)).cast(pl.String)
    b = pl.Series(rng.integers(0, 2**62, n, dtype=np.int64)).cast(pl.String)
    return pl.concat_str([pl.lit(prefix), pl.lit(a), pl.lit("-"), pl.lit(b)])


def _sessions(shape: BenchShape, rng: np.random.Generator) -> pl.DataFrame:
    """One row per session: user, start (us), length in events, session id or null."""
    n = int(shape.events / 9.0)
    user = (shape.users * rng.random(n) ** 2.5).astype(np.int64)
    hour_weights = 0.45 + 0.55 * np.sin(np.pi * ((np.arange(24) - 5) % 24) / 24)
    hour = rng.choice(24, n, p=hour_weights / hour_weights.sum())
    day = rng.integers(0, shape.days, n)
    start0 = int(datetime.combine(shape.first_day, datetime.min.time(), UTC).timestamp()) * _US
    start = start0 + (day * 86400 + hour * 3600 + rng.integers(0, 3600, n)) * _US
    length = 1 + rng.geometric(1 / 8.0, n)
    has_sid = rng.random(n) < 0.9
    return pl.DataFrame(
        {"session_n": np.arange(n), "user_n": user, "start": start, "length": length}
    ).with_columns(
        session_id=pl.when(pl.lit(has_sid)).then(_ids(rng, n, "s")),
        user_id=pl.concat_str([pl.lit("u"), pl.col("user_n").cast(pl.String)]),
    )


def _events(sessions: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Explodes sessions into typed events with times, products and quantities."""
    idx = np.repeat(np.arange(sessions.height), sessions["length"].to_numpy())
    n = idx.size
    gaps = rng.lognormal(np.log(15), 0.8, n) * _US
    products = np.array([p.product_id for p in PRODUCTS])
    popularity = 1 / (np.arange(len(products)) + 1) ** 0.9
    kinds = rng.choice(len(_TYPES), n, p=np.array(_TYPE_WEIGHTS) / sum(_TYPE_WEIGHTS))
    frame = (
        pl.DataFrame({"s": idx, "gap": gaps.astype(np.int64), "kind": kinds})
        .with_columns(pos=pl.int_range(pl.len()).over("s"))
        .join(sessions.with_row_index("s").cast({"s": pl.Int64}), on="s")
        .with_columns(
            kind=pl.when(pl.col("pos") == 0).then(0).otherwise("kind"),
            event_us=pl.col("start") + pl.col("gap").cum_sum().over("s") - pl.col("gap"),
            viewed=pl.lit(rng.choice(products, n, p=popularity / popularity.sum())),
            quantity=pl.lit(np.where(rng.random(n) < 0.8, 1, rng.integers(2, 5, n))),
        )
        .with_columns(event_type=pl.lit(pl.Series(_TYPES)).gather(pl.col("kind")))
        .with_columns(
            product_id=pl.when(pl.col("event_type") == "product_view")
            .then("viewed")
            .otherwise(None)
            .forward_fill()
            .over("s")
        )
        .with_columns(product_id=pl.col("product_id").fill_null(pl.col("viewed")))
    )
    return frame.select(
        "event_type", "event_us", "user_id", "user_n", "session_id", "s", "product_id",
        "quantity",
    )  # fmt: skip


def _orders(events: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """One order_placed row per session whose cart got checked out, items from the cart."""
    prices = pl.DataFrame(
        {"product_id": [p.product_id for p in PRODUCTS], "price": [p.price for p in PRODUCTS]}
    )
    carts = events.filter(pl.col("event_type") == "add_to_cart")
    sessions = carts.select("s").unique().sort("s")
    checked_out = sessions.filter(pl.lit(rng.random(sessions.height) < 0.45))
    tenth = pl.col("user_n") % 10
    currency = (
        pl.when(tenth < 2)
        .then(pl.lit("GBP"))
        .when(tenth < 6)
        .then(pl.lit("USD"))
        .otherwise(pl.lit("EUR"))
    )
    fx = pl.col("currency").replace_strict(FX_FROM_EUR, return_dtype=pl.Float64)
    items = (
        carts.join(checked_out, on="s")
        .group_by("s", "product_id")
        .agg(
            pl.col("quantity").sum(),
            pl.col("event_us").max(),
            pl.col("user_n", "user_id", "session_id").first(),
        )
        .join(prices, on="product_id")
        .with_columns(currency=currency)
        .with_columns(unit_price=(pl.col("price") * fx).round(2))
    )
    n_orders = items.select("s").n_unique()
    v2 = pl.DataFrame({"s": items["s"].unique().sort(), "v2": rng.random(n_orders) < 0.7})
    item_json = pl.concat_str(
        [pl.lit('{"product_id":"'), "product_id", pl.lit('","quantity":'),
         pl.col("quantity").cast(pl.String),
         pl.when("v2").then(pl.concat_str([pl.lit(',"unit_price":'),
                                           pl.col("unit_price").cast(pl.String)])).otherwise(pl.lit("")),
         pl.lit("}")]
    )  # fmt: skip
    orders = (
        items.join(v2, on="s")
        .group_by("s")
        .agg(
            pl.col("user_id", "user_n", "session_id", "currency", "v2").first(),
            event_us=pl.col("event_us").max() + 60 * _US,
            total=(pl.col("quantity") * pl.col("unit_price")).sum().round(2),
            items=item_json.str.join(","),
        )
        .sort("s")
        .with_columns(order_id=_ids(rng, n_orders, "o"))
    )
    payload = pl.concat_str(
        [pl.lit('{"user_id":"'), "user_id", pl.lit('","order_id":"'), "order_id",
         pl.lit('","total_amount":'), pl.col("total").cast(pl.String),
         pl.lit(',"currency":"'), "currency", pl.lit('","items":['), "items", pl.lit("]}")]
    )  # fmt: skip
    return orders.select(
        "user_id", "session_id", "event_us", "user_n",
        event_type=pl.lit("order_placed"),
        schema_version=pl.when("v2").then(2).otherwise(1).cast(pl.Int32),
        payload=payload,
    )  # fmt: skip


def _signups(sessions: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """A user_signup 30 s into each user's first session (80 % of users; v2 for 70 %)."""
    first = sessions.sort("start").unique("user_n", keep="first").sort("user_n")
    first = first.filter(pl.lit(rng.random(first.height) < 0.8))
    v2 = pl.lit(rng.random(first.height) < 0.7)
    country = pl.lit(pl.Series(["US", "GB", "DE", "FR", "NL"])).gather(pl.col("user_n") % 5)
    payload = pl.concat_str(
        [pl.lit('{"user_id":"'), "user_id", pl.lit('","signup_source":"organic","plan":"free"'),
         pl.when(v2).then(pl.concat_str([pl.lit(',"country":"'), country, pl.lit('"')]))
         .otherwise(pl.lit("")), pl.lit("}")]
    )  # fmt: skip
    return first.select(
        "user_id", "session_id", "user_n",
        event_us=pl.col("start") + 30 * _US,
        event_type=pl.lit("user_signup"),
        schema_version=pl.when(v2).then(2).otherwise(1).cast(pl.Int32),
        payload=payload,
    )  # fmt: skip


def _payloads(events: pl.DataFrame) -> pl.DataFrame:
    user = [pl.lit('{"user_id":"'), pl.col("user_id")]
    kind = pl.col("event_type")
    payload = (
        pl.when(kind == "page_view")
        .then(pl.concat_str([*user, pl.lit('","url":"https://shop.example.com/p/'),
                             pl.col("s").cast(pl.String), pl.lit('"}')]))
        .when(kind == "product_view")
        .then(pl.concat_str([*user, pl.lit('","product_id":"'), "product_id",
                             pl.lit('","view_duration":'), (pl.col("s") % 90).cast(pl.String),
                             pl.lit(".5}")]))
        .when(kind == "add_to_cart")
        .then(pl.concat_str([*user, pl.lit('","product_id":"'), "product_id",
                             pl.lit('","quantity":'), pl.col("quantity").cast(pl.String),
                             pl.lit("}")]))
        .otherwise(pl.concat_str([*user, pl.lit('"}')]))
    )  # fmt: skip
    return events.select(
        "user_id", "session_id", "event_us", "user_n", "event_type",
        schema_version=pl.lit(1, pl.Int32), payload=payload,
    )  # fmt: skip


def _faults(log: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Adds re-delivered copies, re-sent orders and lateness; returns the log in ingest order."""
    n = log.height
    lag = rng.exponential(2.0, n) * _US
    late = rng.random(n) < 0.01
    lag = np.where(late, rng.uniform(3600, 30 * 86400, n) * _US, lag)
    log = log.with_columns(ingested_us=pl.col("event_us") + pl.lit(lag.astype(np.int64)))
    copies = log.filter(pl.lit(rng.random(n) < 0.01))
    shift = np.where(
        rng.random(copies.height) < 0.05, rng.uniform(3600, 2 * 86400, copies.height), 0
    )
    copies = copies.with_columns(
        event_us=pl.col("event_us") + pl.lit((shift * _US).astype(np.int64)),
        ingested_us=pl.col("ingested_us")
        + pl.lit(rng.uniform(1, 7200, copies.height) * _US).cast(pl.Int64),
    )
    orders = log.filter(pl.col("event_type") == "order_placed")
    resent = orders.filter(pl.lit(rng.random(orders.height) < 0.02)).with_columns(
        event_id=pl.concat_str([pl.lit("r"), pl.col("event_id")]),
        event_us=pl.col("event_us") + 180 * _US,
        ingested_us=pl.col("ingested_us") + 180 * _US,
    )  # fmt: skip
    return pl.concat([log, copies, resent]).sort("ingested_us")


def generate(shape: BenchShape) -> pl.DataFrame:
    """Returns about `shape.events` bronze/events rows over `shape.days` days, in ingest order."""
    rng = np.random.default_rng(shape.seed)
    sessions = _sessions(shape, rng)
    events = _events(sessions, rng)
    log = pl.concat(
        [_payloads(events), _orders(events, rng), _signups(sessions, rng)], how="diagonal"
    )
    log = log.with_columns(event_id=_ids(rng, log.height, "e"))
    log = _faults(log, rng)
    time = pl.from_epoch(pl.col("event_us"), time_unit="us").dt.replace_time_zone("UTC")
    ingested = pl.from_epoch(pl.col("ingested_us"), time_unit="us").dt.replace_time_zone("UTC")
    source = pl.lit(pl.Series(["web", "ios", "android"])).gather(pl.col("user_n") % 3)
    metadata = pl.when(pl.col("session_id").is_not_null()).then(
        pl.concat_str(
            [pl.lit('{"session_id":"'), "session_id", pl.lit('","source":"'), source, pl.lit('"}')]
        )
    )
    commerce = pl.col("event_type").is_in(["product_view", "add_to_cart", "order_placed"])
    partition = (pl.col("user_n") % 6).cast(pl.Int32)
    end = datetime.combine(shape.first_day, datetime.min.time(), UTC)
    return log.select(
        "event_id",
        "event_type",
        "schema_version",
        aggregate_id=pl.col("user_id"),
        event_time=time,
        event_date=time.dt.date(),
        payload="payload",
        metadata=metadata,
        extra=pl.lit(None, pl.String),
        registered=pl.col("event_type") != "coupon_applied",
        kafka_topic=pl.when(commerce).then(pl.lit("commerce_events")).otherwise(pl.lit("user_events")),
        kafka_partition=partition,
        kafka_offset=pl.int_range(pl.len()).over(commerce, partition).cast(pl.Int64),
        kafka_timestamp=ingested,
        ingested_at=ingested,
    ).filter(pl.col("event_time") >= end).cast(BRONZE_EVENTS.schema)  # fmt: skip
