"""The cache keys queries on the scope fields they read: never one scope's answer for another."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from dashboard.data import cache
from dashboard.data.scope import Scope, Segment
from eventlake.settings import Settings

SCOPE = Scope(date(2024, 5, 1), date(2024, 5, 7))


def test_narrowed_keeps_the_named_fields_and_defaults_the_rest() -> None:
    wide = replace(SCOPE, currencies=("EUR",), segment=Segment(plans=("pro",)), event_id="e1")
    narrow = wide.narrowed(("first", "last", "currencies"))
    assert narrow == Scope(SCOPE.first, SCOPE.last, currencies=("EUR",))
    assert Scope().every_day and not SCOPE.every_day
    with pytest.raises(ValueError, match="no field"):
        wide.narrowed(("day",))


def test_a_query_is_cached_per_value_of_the_fields_it_reads(settings: Settings) -> None:
    seen: list[Scope] = []

    def query(settings: Settings, scope: Scope) -> tuple[object, ...]:
        seen.append(scope)
        return (scope.first, scope.last, scope.currencies)

    keyed = cache._short_on(query, "first", "last", "currencies")
    assert keyed(settings, SCOPE) == (SCOPE.first, SCOPE.last, ())
    # A field the query does not read shares the answer, and the query never sees it.
    moment = datetime(2024, 5, 8, tzinfo=UTC)
    assert keyed(settings, replace(SCOPE, as_of=moment, segment=Segment(countries=("DE",))))
    assert len(seen) == 1 and seen[0] == SCOPE
    # Every field it reads gives its own answer.
    assert keyed(settings, replace(SCOPE, currencies=("EUR",)))[2] == ("EUR",)
    assert keyed(settings, replace(SCOPE, last=date(2024, 5, 6)))[1] == date(2024, 5, 6)
    assert len(seen) == 3
