"""The reference's gold layer: DuckDB SQL restating each gold definition of docs/metrics.md.

The queries read the silver tables of bench/duckdb_silver.py by short view names (`events`,
`orders`, `items`, `product_events`, `signups`, `activity`, `sessions`) and the one-row table
`span(first, last)`: the days the day-partitioned tables cover (every day of it has a row,
as in the Polars projections), plus `rates` (EUR per unit) and `products` (the catalog).
"""

from __future__ import annotations

VIEWS: dict[str, str] = {
    "events": "silver/events",
    "orders": "silver/orders",
    "items": "silver/order_items",
    "product_events": "silver/product_events",
    "signups": "silver/user_signups",
    "activity": "silver/user_activity_daily",
    "sessions": "silver/sessions",
}

IN_SPAN = "between (select first from span) and (select last from span)"
CALENDAR = """
cal as (select unnest(range(first, last + 1, interval 1 day))::date as day from span)"""

COUNTED = """
counted as (
  select * from orders
  qualify row_number() over (partition by order_id order by event_time, event_id) = 1
)"""

QUERIES: dict[str, str] = {
    "gold/daily_active_users": f"""
with a as (select distinct user_id, day from activity), {CALENDAR},
w as (
  select cal.day,
    count(distinct a.user_id) filter (where a.day = cal.day) as dau,
    count(distinct a.user_id) filter (where a.day >= cal.day - 6) as wau,
    count(distinct a.user_id) as mau
  from cal left join a on a.day between cal.day - 29 and cal.day
  group by cal.day
)
select *, case when mau > 0 then dau / mau else 0.0 end as stickiness from w""",
    "gold/revenue_daily": f"""with {COUNTED}
select event_date as day, currency, count(*) as orders, sum(total_amount) as revenue,
  sum(total_amount) / count(*) as avg_order_value
from counted where event_date {IN_SPAN} group by all""",
    "gold/revenue_by_product": f"""with {COUNTED}
select i.event_date as day, i.product_id, i.currency, sum(i.quantity) as units,
  sum(i.quantity * i.unit_price) as revenue
from items i semi join counted c on i.event_id = c.event_id
where i.event_date {IN_SPAN} group by all""",
    "gold/sessions_daily": f"""with {CALENDAR},
d as (
  select day, count(*) as sessions, avg(duration_s) as avg_duration_s,
    quantile_cont(duration_s, 0.5) as p50_duration_s,
    quantile_cont(duration_s, 0.9) as p90_duration_s
  from sessions group by day
)
select cal.day, coalesce(sessions, 0) as sessions, avg_duration_s, p50_duration_s,
  p90_duration_s
from cal left join d using (day)""",
    "gold/funnel_daily": f"""with {COUNTED},
entries as (
  select event_date as day, user_id, min(event_time) as entry from product_events
  where event_type = 'product_view' and user_id is not null and event_date {IN_SPAN}
  group by all
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
    (epoch_us(min(o.event_time)) - epoch_us(any_value(k.entry))) / 1e6 as seconds
  from carted k join counted o on o.user_id = k.user_id
    and o.event_time between k.first_cart and k.entry + interval 24 hour
  group by all
),
per_day as (
  select e.day, count(*) as viewed, count(k.user_id) as carted, count(o.user_id) as ordered,
    median(o.seconds) as median_seconds_to_order
  from entries e left join carted k using (day, user_id)
  left join ordered o using (day, user_id)
  group by e.day
), {CALENDAR},
f as (
  select cal.day, coalesce(viewed, 0) as viewed, coalesce(carted, 0) as carted,
    coalesce(ordered, 0) as ordered, median_seconds_to_order
  from cal left join per_day using (day)
)
select day, viewed, carted, ordered,
  case when viewed > 0 then carted / viewed end as view_to_cart_rate,
  case when carted > 0 then ordered / carted end as cart_to_order_rate,
  case when viewed > 0 then ordered / viewed end as view_to_order_rate,
  median_seconds_to_order
from f""",
    "gold/product_performance": f"""with {COUNTED},
interest as (
  select event_date as day, product_id,
    count(*) filter (where event_type = 'product_view') as views,
    count(*) filter (where event_type = 'add_to_cart') as add_to_carts
  from product_events where product_id is not null and event_date {IN_SPAN} group by all
),
sales as (
  select i.event_date as day, i.product_id, sum(i.quantity) as units,
    coalesce(sum(i.quantity * i.unit_price * r.eur), 0) as revenue
  from items i semi join counted c on i.event_id = c.event_id
  left join rates r on r.currency = i.currency where i.event_date {IN_SPAN} group by all
)
select day, product_id, p.category, coalesce(views, 0) as views,
  coalesce(add_to_carts, 0) as add_to_carts, coalesce(units, 0) as units,
  coalesce(revenue, 0) as revenue
from interest full join sales using (day, product_id) left join products p using (product_id)""",
    "gold/lifecycle_daily": f"""
with a as (select distinct user_id, day from activity),
p as (select user_id, day, lag(day) over (partition by user_id order by day) as prev from a),
t as (select day, count(*) as active, count(*) filter (where prev is null) as new,
        count(*) filter (where prev = day - 1) as ret from p group by day),
y as (select day + 1 as day, count(*) as before from a group by day), {CALENDAR}
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
    round(coalesce(sum(c.total_amount * r.eur), 0), 2) as monetary,
    count(*) filter (where r.eur is null) as unvalued_orders
  from counted c left join rates r using (currency)
  where c.user_id is not null group by all
),
as_of as (select max(day) as as_of_day from activity),
x as (select *, as_of_day - last_order_day as recency_days, count(*) over () as n
      from per, as_of),
scored as (
  select *,
    1 + (5 * (rank() over (order by -recency_days) - 1)) // n as r_score,
    1 + (5 * (rank() over (order by frequency) - 1)) // n as f_score,
    1 + (5 * (rank() over (order by monetary) - 1)) // n as m_score
  from x
)
select user_id, recency_days, frequency, monetary, r_score, f_score, m_score,
  case when r_score >= 4 and f_score >= 4 and m_score >= 4 then 'champions'
       when r_score >= 3 and f_score >= 3 then 'loyal'
       when r_score >= 4 then 'new_customers'
       when r_score = 3 then 'promising'
       when f_score >= 3 then 'at_risk'
       when r_score = 2 then 'hibernating'
       else 'lost' end as segment,
  last_order_day, as_of_day, unvalued_orders
from scored""",
}
