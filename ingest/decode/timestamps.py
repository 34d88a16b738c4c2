"""RFC 3339 event times, parsed for a whole column at once (the vectorised half of the fast path).

`rfc3339_us` gives the same microseconds as `envelope.parse` for the strings it is sure of, and
null for everything else (Unicode digits, impossible dates, out-of-range fields...), which the
caller hands to `parse` one message at a time.
"""

from __future__ import annotations

import polars as pl

# ASCII digits only: `parse` also accepts other Unicode digits, which stay on its slow path
_RFC3339 = (
    r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<frac>[0-9]+))?"
    r"(?:(?P<zulu>[Zz])|(?P<sign>[+-])(?P<oh>[0-9]{2}):(?P<om>[0-9]{2}))$"
)
_DAYS_BEFORE_EPOCH = 719_468  # days from 0000-03-01 to 1970-01-01 in the proleptic calendar


def _days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return (
        pl.when(month == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )


def _days_from_civil(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Returns days since 1970-01-01 of a valid proleptic Gregorian date (H. Hinnant's formula)."""
    y = year - (month <= 2).cast(pl.Int64)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - _DAYS_BEFORE_EPOCH


def rfc3339_us(texts: pl.Series) -> pl.Series:
    """Returns the epoch microseconds of each RFC 3339 string, or null where unsure or invalid.

    Digits beyond microseconds are truncated, as `envelope.parse` does.
    """
    parts = texts.str.extract_groups(_RFC3339).struct.unnest()  # the regex runs once

    def num(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Int64)

    year, month, day = num("year"), num("month"), num("day")
    hour, minute, second = num("hour"), num("minute"), num("second")
    oh, om = num("oh").fill_null(0), num("om").fill_null(0)
    frac = pl.col("frac").str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int64).fill_null(0)
    sign = pl.when(pl.col("sign") == "-").then(-1).otherwise(1)
    valid = (
        (year >= 1)
        & month.is_between(1, 12)
        & (day >= 1)
        & (day <= _days_in_month(year, month))
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & (oh <= 23)
        & (om <= 59)
    )
    seconds = (
        _days_from_civil(year, month, day) * 86_400
        + hour * 3_600
        + minute * 60
        + second
        - sign * (oh * 3_600 + om * 60)
    )
    us = pl.when(valid).then(seconds * 1_000_000 + frac).otherwise(None)
    return parts.select(us.alias(texts.name)).to_series()
