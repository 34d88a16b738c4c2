"""The freshness benchmark's latency accounting, on hand-built events and gold commits."""

from __future__ import annotations

from datetime import date

import polars as pl

from bench.freshness_lag import latencies, summary

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def test_an_event_counts_at_the_first_gold_commit_of_its_day_that_read_its_version() -> None:
    events = pl.DataFrame(
        {
            "event_date": [D1, D1, D1, D2],
            "produced_s": [100.0, 110.0, 120.0, 100.0],
            "bronze_version": [3, 5, 9, 5],
        }
    )
    commits = pl.DataFrame(  # (run, day) -> version its silver read, when its gold was done
        {
            "day": [D1, D1, D1, D2],
            "bronze_version": [4, 6, 7, 4],
            "committed_s": [130.0, 150.0, 140.0, 135.0],
        }
    )
    lat = latencies(events, commits).sort("event_date", "produced_s")
    # v3 -> first commit reading >= 3 is v4 at 130; v5 -> v6 (150) or v7 (140): the earlier;
    # v9 -> none yet; D2's v5 -> D2 only has v4: not in gold (another day's commit never counts)
    assert lat.get_column("latency_s").to_list() == [30.0, 30.0, None, None]
    figures = summary(lat)
    assert figures["events"] == 4 and figures["not_in_gold"] == 2
    assert figures["max_s"] == float("inf")  # an event never counted is infinitely late
    assert summary(lat.filter(pl.col("latency_s").is_not_null()))["p99_s"] == 30.0
