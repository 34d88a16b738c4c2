"""The day partitions every day-partitioned asset shares, and grouping days into runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from eventlake.errors import ConfigError
from eventlake.settings import Settings

PARTITION_FORMAT = "%Y-%m-%d"  # a partition key is the ISO day
# Dagster's run tags for the partitions a run covers
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PARTITION = "dagster/partition"


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """Returns UTC day partitions from the settings' start date up to and including today.

    `end_offset=1` makes today a partition like any other: its figures are partial until
    the day ends.
    """
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_date.isoformat(),
        end_offset=1,
        timezone="UTC",
        fmt=PARTITION_FORMAT,
    )


def partition_span(
    partitions_def: dg.DailyPartitionsDefinition, now: datetime
) -> tuple[date, date] | None:
    """Returns the first and last day that are partitions at `now`, or None if there are none."""
    first = partitions_def.start.date()
    last = now.astimezone(UTC).date() + timedelta(days=partitions_def.end_offset - 1)
    return (first, last) if first <= last else None


def day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Returns `days` grouped into maximal runs of consecutive days, as (first, last) pairs."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def range_tags(first: date, last: date) -> dict[str, str]:
    """Returns the run tags that make a run cover the partition range [first, last]."""
    return {
        RANGE_START: first.strftime(PARTITION_FORMAT),
        RANGE_END: last.strftime(PARTITION_FORMAT),
    }


def range_of(tags: Mapping[str, str]) -> tuple[date, date] | None:
    """Returns the day range a run covers, from its tags (a range, or one partition), or None
    for a run of no day partition."""
    first = tags.get(RANGE_START) or tags.get(PARTITION)
    last = tags.get(RANGE_END) or tags.get(PARTITION)
    if not (first and last):
        return None
    return date.fromisoformat(first), date.fromisoformat(last)


def check_bounds(settings: Settings, first: date | None, last: date | None, today: date) -> None:
    """Checks that the given --from/--to days are day partitions (start date .. today).

    Raises:
        ConfigError: one is not (a usage error).
    """
    start = settings.start_date
    for flag, day in (("--from", first), ("--to", last)):
        if day is not None and not start <= day <= today:
            raise ConfigError(
                f"{flag} {day} is not a day partition (they run from {start}, "
                f"EVENTLAKE_START_DATE, to today {today} UTC)"
            )
