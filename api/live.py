"""Today's live figures for the API: `dashboard.data.live` with its slow inputs kept a minute.

The users and orders before today change only when earlier days are re-materialized, so, as on
the dashboard, they are kept for `KEEP_S` seconds (a few segments at most: the cache is bounded)
while the day's own events are read from the log on every request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date

import polars as pl

from dashboard.data import live
from dashboard.data.scope import Scope, Segment
from eventlake.settings import Settings

KEEP_S = 60.0
MAX_KEPT = 16


class LiveFigures:
    """Computes `live.LiveDay` of a day and segment, keeping its inputs before the day."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._kept: OrderedDict[tuple[object, ...], tuple[float, pl.DataFrame]] = OrderedDict()
        self._lock = threading.Lock()

    def day(self, day: date, segment: Segment) -> live.LiveDay:
        """Returns the figures of `day` for `segment`, from the newest log."""
        scope = Scope(last=day, segment=segment)
        users = self._keep(
            ("users", day, segment), lambda: live.past_last_active(self._settings, scope)
        )
        orders = self._keep(("orders", day), lambda: live.past_order_ids(self._settings, scope))
        return live.live_day(self._settings, day, segment, users, orders)

    def _keep(self, key: tuple[object, ...], compute: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        now = time.monotonic()
        with self._lock:
            found = self._kept.get(key)
            if found is not None and now - found[0] < KEEP_S:
                return found[1]
        frame = compute()
        with self._lock:
            self._kept[key] = (now, frame)
            self._kept.move_to_end(key)
            while len(self._kept) > MAX_KEPT:
                self._kept.popitem(last=False)
        return frame
