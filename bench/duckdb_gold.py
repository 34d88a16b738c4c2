"""The reference: DuckDB computing every gold table from the same silver Delta tables.

Each query restates a definition of docs/metrics.md in SQL over the
parquet files of the current silver table versions; the benchmark times them and checks that
they give the same rows as the Polars projections.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl
from deltalake import DeltaTable

from eventlake import lake
from eventlake.catalog import (
    SILVER_EVENTS,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
    SILVER_PRODUCT_EVENTS,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_USER_SIGNUPS,
    TableSpec,
)
from eventlake.currencies import EUR_PER_UNIT
from eventlake.default_products import products_frame
from eventlake.settings import Settings

VIEWS: dict[str, TableSpec] = {
    "events": SILVER_EVENTS,
    "orders": SILVER_ORDERS,
    "items": SILVER_ORDER_ITEMS,
    "product_events": SILVER_PRODUCT_EVENTS,
    "signups": SILVER_USER_SIGNUPS,
    "activity": SILVER_USER_ACTIVITY_DAILY,
}

COUNTED = """
counted as (
  select * from orders
  qualify row_number() over (partition by order_id order by event_time, event_id) = 1
)"""

QUERIES: dict[str, str] = {
    "gold/daily_active_users": """
with a as (select distinct user_id, day from activity),
cal as (select unnest(range((select min(day) from a), (select max(day) from a) + 1,
                            interval 1 day))::date as day)
select cal.day,
  count(distinct a.user_id) filter (where a.day = cal.day) as dau,
  count(distinct a.user_id) filter (where a.day >= cal.day - 6) as wau,
  count(distinct a.user_id) as mau
from cal left join a on a.day between cal.day - 29 and cal.day
group by cal.day""",
    "gold/revenue_daily": f"""with {COUNTED}
select event_date as day, currency, count(*) as orders, sum(total_amount) as revenue,
  sum(total_amount) / count(*) as avg_order_value
from counted group by all""",
    "gold/revenue_by_product": f"""with {COUNTED}
select i.event_date as day, i.product_id, i.currency, sum(i.quantity) as units,
  sum(i.quantity * i.unit_price) as revenue
from items i semi join counted c on i.event_id = c.event_id group by all""",
    "gold/sessions_daily": """
with recursive e as (
  select user_id, session_id, event_time from events where user_id is not null
),
flagged as (
  select user_id, event_time,
    case when lag(event_time) over w is null
         or event_time - lag(event_time) over w > interval 30 minute then 1 else 0 end as starts
  from e where session_id is null
  window w as (partition by user_id order by event_time)
),
chain as (
  select user_id, event_time,
    sum(starts) over (partition by user_id order by event_time
                      rows unbounded preceding) as run
  from flagged
),
runs as (
  select user_id, session_id as k2, -1 as k3, event_time from e where session_id is not null
  union all select user_id, '', run, event_time from chain
),
spans as (
  select user_id, k2, k3, min(event_time) as started, max(event_time) as ended
  from runs group by all
),
long_events as (
  select r.* from runs r semi join (
    select user_id, k2, k3 from spans where ended - started >= interval 24 hour
  ) l using (user_id, k2, k3)
),
cuts as (
  select user_id, k2, k3, min(event_time) as piece from long_events group by all
  union all
  select c.user_id, c.k2, c.k3,
    (select min(l.event_time) from long_events l where l.user_id = c.user_id
       and l.k2 = c.k2 and l.k3 = c.k3 and l.event_time >= c.piece + interval 24 hour)
  from cuts c where c.piece is not null
),
pieces as (
  select l.user_id, l.k2, l.k3, c.piece as started, max(l.event_time) as ended
  from long_events l asof join cuts c
    on l.user_id = c.user_id and l.k2 = c.k2 and l.k3 = c.k3 and l.event_time >= c.piece
  group by all
),
s as (
  select started, ended from spans where ended - started < interval 24 hour
  union all select started, ended from pieces
),
d as (select started::date as day,
        epoch_us(ended) / 1e6 - epoch_us(started) / 1e6 as duration_s from s)
select day, count(*) as sessions, avg(duration_s) as avg_duration_s,
  quantile_cont(duration_s, 0.5) as p50_duration_s,
  quantile_cont(duration_s, 0.9) as p90_duration_s
from d group by day""",
    "gold/funnel_daily": f"""with {COUNTED},
entries as (
  select event_date as day, user_id, min(event_time) as entry from product_events
  where event_type = 'product_view' and user_id is not null group by all
),
carted as (
  select e.day, e.user_id, any_value(e.entry) as entry, min(c.event_time) as first_cart
  from entries e join product_events c on c.user_id = e.user_id
    and c.event_type = 'add_to_cart'
    and c.event_time between e.entry and e.entry + interval 24 hour
  group by all
),
ordered as (
  select k.day, k.user_id,
    epoch_us(min(o.event_time)) / 1e6 - epoch_us(any_value(k.entry)) / 1e6 as seconds
  from carted k join counted o on o.user_id = k.user_id
    and o.event_time between k.first_cart and k.entry + interval 24 hour
  group by all
)
select e.day, count(*) as viewed, count(k.user_id) as carted, count(o.user_id) as ordered,
  median(o.seconds) as median_seconds_to_order
from entries e left join carted k using (day, user_id) left join ordered o using (day, user_id)
group by e.day""",
    "gold/product_performance": f"""with {COUNTED},
interest as (
  select event_date as day, product_id,
    count(*) filter (where event_type = 'product_view') as views,
    count(*) filter (where event_type = 'add_to_cart') as add_to_carts
  from product_events where product_id is not null group by all
),
sales as (
  select i.event_date as day, i.product_id, sum(i.quantity) as units,
    coalesce(sum(i.quantity * i.unit_price * r.eur), 0) as revenue
  from items i semi join counted c on i.event_id = c.event_id
  left join rates r on r.currency = i.currency group by all
)
select day, product_id, p.category, coalesce(views, 0) as views,
  coalesce(add_to_carts, 0) as add_to_carts, coalesce(units, 0) as units,
  coalesce(revenue, 0) as revenue
from interest full join sales using (day, product_id) left join products p using (product_id)""",
    "gold/lifecycle_daily": """
with a as (select distinct user_id, day from activity),
p as (select user_id, day, lag(day) over (partition by user_id order by day) as prev from a),
t as (select day, count(*) as active, count(*) filter (where prev is null) as new,
        count(*) filter (where prev = day - 1) as ret from p group by day),
y as (select day + 1 as day, count(*) as before from a group by day),
cal as (select unnest(range((select min(day) from a), (select max(day) from a) + 1,
                            interval 1 day))::date as day)
select cal.day, coalesce(active, 0) as active, coalesce(new, 0) as new,
  coalesce(ret, 0) as "returning",
  coalesce(active, 0) - coalesce(new, 0) - coalesce(ret, 0) as resurrecting,
  coalesce(before, 0) - coalesce(ret, 0) as dormant
from cal left join t using (day) left join y using (day)""",
    "gold/cohort_retention": """
with first_signup as (
  select user_id, date_trunc('week', min(event_time)::date)::date as cohort_week
  from signups group by user_id
),
sizes as (select cohort_week, count(*) as cohort_size from first_signup group by all),
last_week as (select date_trunc('week', max(day))::date as w from activity),
grid as (
  select cohort_week, cohort_size, unnest(range(0, (w - cohort_week) // 7 + 1)) as week_offset
  from sizes, last_week
),
act as (
  select f.cohort_week, (date_trunc('week', a.day)::date - f.cohort_week) // 7 as week_offset,
    count(distinct a.user_id) as active_users
  from activity a join first_signup f using (user_id)
  where a.day >= f.cohort_week group by all
)
select cohort_week, week_offset, cohort_size, coalesce(active_users, 0) as active_users,
  coalesce(active_users, 0) / cohort_size as retention_rate
from grid left join act using (cohort_week, week_offset)""",
    "gold/customer_rfm": f"""with {COUNTED},
per as (
  select c.user_id, max(c.event_date) as last_order_day, count(*) as frequency,
    round(coalesce(sum(c.total_amount * r.eur), 0), 2) as monetary
  from counted c left join rates r using (currency)
  where c.user_id is not null group by all
),
as_of as (select max(day) as as_of_day from activity),
x as (select *, as_of_day - last_order_day as recency_days, count(*) over () as n
      from per, as_of)
select user_id, recency_days, frequency, monetary,
  1 + (5 * (rank() over (order by -recency_days) - 1)) // n as r_score,
  1 + (5 * (rank() over (order by frequency) - 1)) // n as f_score,
  1 + (5 * (rank() over (order by monetary) - 1)) // n as m_score
from x""",
}


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Returns a DuckDB connection with one view per silver table (its current parquet files)."""
    con = duckdb.connect()
    for view, spec in VIEWS.items():
        table = lake.open_table(settings, spec)
        if table is None:
            raise RuntimeError(f"{spec.name} does not exist")
        con.execute(f"create view {view} as {_parquet_select(table, spec)}")
    rates = pl.DataFrame({"currency": list(EUR_PER_UNIT), "eur": list(EUR_PER_UNIT.values())})
    con.register("rates", rates.to_arrow())
    con.register("products", products_frame().to_arrow())
    return con


def _parquet_select(table: DeltaTable, spec: TableSpec) -> str:
    files = ", ".join(f"'{uri}'" for uri in table.file_uris())
    columns = ", ".join(spec.schema.names())
    return f"select {columns} from read_parquet([{files}], hive_partitioning = true)"


def compute(
    settings: Settings, timer: Callable[[str], None] | None = None
) -> dict[str, pl.DataFrame]:
    """Returns every gold table as DuckDB computes it, by table name."""
    con = connect(settings)
    out = {}
    for name, sql in QUERIES.items():
        out[name] = con.sql(sql).pl()
        if timer is not None:
            timer(name)
    return out
