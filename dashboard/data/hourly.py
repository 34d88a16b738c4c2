"""The hourly read models as stored: traffic and revenue per UTC hour. No Streamlit.

For the days of the scope (gold/traffic_hourly, gold/revenue_hourly; docs/metrics.md, "Hourly
figures"); revenue limited to the scope's currencies. Not per segment: the hours are counted
for everyone.
"""

from __future__ import annotations

import polars as pl

from dashboard.data import reads
from dashboard.data.scope import Scope
from eventlake.catalog import GOLD_REVENUE_HOURLY, GOLD_TRAFFIC_HOURLY
from eventlake.settings import Settings


def traffic(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns gold/traffic_hourly rows of the scope's days, oldest hour first."""
    spec = GOLD_TRAFFIC_HOURLY
    frame = reads.scan_days(settings, spec, scope.first, scope.last, scope.as_of)
    return reads.collect(spec, frame.select(spec.schema.names()).sort("hour"))


def revenue(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns gold/revenue_hourly rows of the scope's days and currencies (empty: all), by hour
    then currency."""
    spec = GOLD_REVENUE_HOURLY
    frame = reads.scan_days(settings, spec, scope.first, scope.last, scope.as_of)
    if scope.currencies:
        frame = frame.filter(pl.col("currency").is_in(list(scope.currencies)))
    return reads.collect(spec, frame.select(spec.schema.names()).sort("hour", "currency"))
