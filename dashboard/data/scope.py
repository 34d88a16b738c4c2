"""What a page is asked to show: the days, the moment ("as of"), and the filters. No Streamlit.

A `Scope` is the one argument every page query takes besides the settings: frozen and hashable,
so the cache layer can key on it, and plain, so the benchmark can build one by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class Scope:
    """The days [first, last], the moment the lake is read at, and the filters of one page run.

    Attributes:
        first: the first day shown (UTC).
        last: the last day shown (UTC, inclusive).
        as_of: read every table as of this moment (None: the latest version).
        currencies: the currencies money figures are limited to (empty: all).
        segment: the users per-user figures are limited to.
    """

    first: date
    last: date
    as_of: datetime | None = None
    currencies: tuple[str, ...] = ()
    segment: Segment = field(default=EVERYONE)

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
