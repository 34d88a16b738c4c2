"""What a page is asked to show: the days, the moment ("as of"), and the filters. No Streamlit.

A `Scope` is the one argument every page query takes besides the settings: frozen and hashable,
so the cache layer can key on it, and plain, so the benchmark can build one by hand. A query
reads the fields it needs and ignores the others; the cache layer keys each query on the fields
it reads (`Scope.narrowed`), so one answer is never served for another scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Segment:
    """A set of users chosen by the attributes of their first signup (empty tuple: any value).

    Users whose attribute is null (they never signed up, or signed up with a v1 event that had
    no country) match only a filter that leaves that attribute open.
    """

    plans: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    @property
    def is_everyone(self) -> bool:
        """True when no attribute is filtered: the gold tables answer as they are."""
        return not (self.plans or self.sources or self.countries)

    def describe(self) -> str:
        """Returns the filter in words, e.g. "plan pro, country DE or FR" ("" for everyone)."""
        parts = [
            f"{name} {' or '.join(values)}"
            for name, values in (
                ("plan", self.plans),
                ("signup source", self.sources),
                ("country", self.countries),
            )
            if values
        ]
        return ", ".join(parts)


EVERYONE = Segment()
PartitionKey = tuple[str, int]  # a Kafka topic and partition


@dataclass(frozen=True)
class Scope:
    """The days [first, last], the moment the lake is read at, and the filters of one page run.

    Attributes:
        first: the first day shown (UTC; `date.min`: no lower bound).
        last: the last day shown (UTC, inclusive; `date.max`: no upper bound).
        as_of: read every table as of this moment (None: the latest version).
        currencies: the currencies money figures are limited to (empty: all).
        segment: the users per-user figures are limited to.
        tables: the catalog names of the tables a query is about (restatements, freshness).
        since: only what was committed at or after this moment (the Pipeline page's window).
        event_id: the event the Event explorer looks up.
        aggregate_id: the user or aggregate whose history the Event explorer shows.
        partitions: the Kafka (topic, partition) pairs whose end offsets are asked for (lag).
        event_types: the event types counted (empty: all).
    """

    first: date = date.min
    last: date = date.max
    as_of: datetime | None = None
    currencies: tuple[str, ...] = ()
    segment: Segment = field(default=EVERYONE)
    tables: tuple[str, ...] = ()
    since: datetime | None = None
    event_id: str = ""
    aggregate_id: str = ""
    partitions: tuple[PartitionKey, ...] = ()
    event_types: tuple[str, ...] = ()

    @property
    def every_day(self) -> bool:
        """True when the days are not limited (a query reads every day of its tables)."""
        return self.first == date.min and self.last == date.max

    def narrowed(self, names: tuple[str, ...]) -> Scope:
        """Returns the scope with only the fields `names` kept, every other one at its default.

        The cache layer keys a query on its narrowed scope: scopes that differ only in what the
        query does not read share one answer.
        """
        unknown = set(names) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"Scope has no field {sorted(unknown)}")
        return Scope(**{name: getattr(self, name) for name in names})

    @property
    def days(self) -> int:
        """Returns the number of days in [first, last]."""
        return (self.last - self.first).days + 1

    def previous(self) -> Scope:
        """Returns the same scope over the period of equal length just before this one."""
        span = timedelta(days=self.days)
        return replace(self, first=self.first - span, last=self.last - span)

    def widened(self, *, before: int = 0) -> Scope:
        """Returns the scope starting `before` days earlier (e.g. 1 for a first-day delta)."""
        return replace(self, first=self.first - timedelta(days=before))

    def describe_filters(self) -> str:
        """Returns the active filters in words ("" when none is set)."""
        parts = []
        if self.currencies:
            parts.append(f"currency {' or '.join(self.currencies)}")
        if not self.segment.is_everyone:
            parts.append(self.segment.describe())
        return ", ".join(parts)
