"""The reference's silver layer: DuckDB SQL restating assets/silver.py and the typed silver tables.

Each query restates a definition of docs/metrics.md over the view `bronze` (the parquet files
of bronze/events) or the silver tables before it, as a dbt-duckdb project would hold them; the
benchmark runs them in this order, each into a DuckDB table, and writes every table as Delta.
"""

from __future__ import annotations

from eventlake.registry import REGISTRY

_REGISTERED = ", ".join(
    f"('{name}', {version})" for name, kind in REGISTRY.items() for version in kind.versions
)
_LATEST = " ".join(f"when '{name}' then {kind.latest_version}" for name, kind in REGISTRY.items())
# v1 order items had no unit price: the order total spread evenly over the units.
_ITEMS = "json_extract(payload, '$.items[*]')"
_UNITS = f"list_sum(list_transform({_ITEMS}, lambda j: (j->>'$.quantity')::bigint))"
_ORDER_V2 = f"""json_merge_patch(payload, json_object('items', list_transform({_ITEMS},
  lambda it: json_merge_patch(it, json_object('unit_price',
    (payload->>'$.total_amount')::double / {_UNITS})))))"""
# v1 signups had no country: null in v2 (a merge patch would drop a null member, so append it).
_SIGNUP_V2 = """rtrim(json_merge_patch(payload, '{"country": null}'), '}') || ',"country":null}'"""

SILVER: dict[str, str] = {
    "silver/events": f"""
with winners as (
  select * from bronze
  qualify row_number() over (
    partition by event_id
    order by ingested_at, kafka_topic, kafka_partition, kafka_offset nulls last) = 1
),
kept as (
  select * from winners
  where registered and (event_type, schema_version) in (values {_REGISTERED})
),
upcast as (
  select * replace (
    case when event_type = 'order_placed' and schema_version = 1 then {_ORDER_V2}
         when event_type = 'user_signup' and schema_version = 1 then {_SIGNUP_V2}
         else payload end as payload,
    (case event_type {_LATEST} end)::integer as schema_version)
  from kept
)
select event_id, event_type, schema_version, aggregate_id,
  payload->>'$.user_id' as user_id, metadata->>'$.session_id' as session_id,
  event_time, event_date, payload, metadata, ingested_at
from upcast""",
    "silver/orders": """
with o as (
  select event_id, event_time, event_date, user_id, from_json(payload,
    '{"order_id": "VARCHAR", "total_amount": "DOUBLE", "currency": "VARCHAR",
      "items": [{"quantity": "BIGINT"}]}') as p
  from "silver/events" where event_type = 'order_placed'
)
select event_id, event_time, event_date, user_id, p.order_id, p.total_amount, p.currency,
  len(p.items)::integer as items,
  list_sum(list_transform(p.items, lambda i: i.quantity)) as units
from o""",
    "silver/order_items": """
with o as (
  select event_id, event_date, from_json(payload,
    '{"order_id": "VARCHAR", "currency": "VARCHAR",
      "items": [{"product_id": "VARCHAR", "quantity": "BIGINT", "unit_price": "DOUBLE"}]}') as p
  from "silver/events" where event_type = 'order_placed'
),
i as (
  select event_id, event_date, p.order_id, p.currency,
    unnest(p.items) as it, unnest(range(len(p.items))) as item
  from o
)
select event_id, event_date, order_id, item::integer as item, it.product_id, it.quantity,
  it.unit_price, currency
from i where it is not null""",
    "silver/product_events": """
select event_id, event_type, event_time, event_date, user_id,
  payload->>'$.product_id' as product_id,
  (payload->>'$.quantity')::bigint as quantity,
  (payload->>'$.view_duration')::double as view_duration
from "silver/events" where event_type in ('product_view', 'add_to_cart')""",
    "silver/user_signups": """
select event_id, event_time, event_date, user_id,
  payload->>'$.signup_source' as signup_source, payload->>'$.plan' as plan,
  payload->>'$.country' as country
from "silver/events" where event_type = 'user_signup'""",
    "silver/user_activity_daily": """
select event_date as day, user_id, count(*) as events,
  min(event_time) as first_event_time, max(event_time) as last_event_time
from "silver/events" where user_id is not null group by all""",
    # Runs: a session id's events, or a user's id-less events with no gap over 30 minutes
    # (k2 = the session id or '', k3 = -1 or the run number); runs of 24 h or more are cut
    # greedily (`cuts`: each piece starts at the first event 24 h or more after the last start).
    "silver/sessions": """
with recursive e as (
  select user_id, session_id, event_time from "silver/events" where user_id is not null
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
  select user_id, k2, k3, min(event_time) as started, max(event_time) as ended,
    count(*) as events
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
  select l.user_id, l.k2, l.k3, c.piece as started, max(l.event_time) as ended,
    count(*) as events
  from long_events l asof join cuts c
    on l.user_id = c.user_id and l.k2 = c.k2 and l.k3 = c.k3 and l.event_time >= c.piece
  group by all
),
s as (
  select * from spans where ended - started < interval 24 hour
  union all select * from pieces
)
select started::date as day, user_id, case when k3 = -1 then k2 end as session_id,
  started as started_at, ended as ended_at, events,
  (epoch_us(ended) - epoch_us(started)) / 1e6 as duration_s
from s""",
    "silver/users": """
with active as (
  select user_id, min(day) as first_active_day, max(day) as last_active_day,
    count(distinct day) as active_days
  from "silver/user_activity_daily" group by user_id
),
signed as (
  select user_id, min(event_time) as signed_up_at,
    first(signup_source order by event_time, event_id) as signup_source,
    first(plan order by event_time, event_id) as plan,
    first(country order by event_time, event_id) as country,
    count(*) as signups
  from "silver/user_signups" where user_id is not null group by user_id
)
select user_id, first_active_day, last_active_day, active_days, signed_up_at,
  date_trunc('week', signed_up_at::date)::date as cohort_week, signup_source, plan, country,
  coalesce(signups, 0) as signups
from active full join signed using (user_id)""",
}
