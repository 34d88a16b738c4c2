"""The static exchange-rate table that turns amounts in several currencies into one.

Read models keep amounts per currency wherever their grain allows (revenue per day and
currency); where one number per row is needed (a customer's spend, a product's revenue) they
convert to `REPORTING_CURRENCY` with these fixed rates. Fixed on purpose: a read model is a
pure function of the log, so it must not depend on the day it is computed. An amount in a
currency missing here cannot be valued: it is left out of converted sums, and counted apart.
"""

from __future__ import annotations

import polars as pl

REPORTING_CURRENCY = "EUR"

EUR_PER_UNIT: dict[str, float] = {
    "EUR": 1.0,
    "USD": 1 / 1.08,
    "GBP": 1 / 0.85,
    "CHF": 1 / 0.95,
    "SEK": 1 / 11.5,
    "PLN": 1 / 4.3,
    "JPY": 1 / 160.0,
    "CAD": 1 / 1.47,
    "AUD": 1 / 1.65,
    "INR": 1 / 90.0,
    "BRL": 1 / 5.4,
}
"""How many EUR one unit of each currency is worth (the simulator's price lists use 1 EUR =
1.08 USD = 0.85 GBP)."""


def to_reporting(amount: pl.Expr, currency: pl.Expr) -> pl.Expr:
    """Returns `amount` in REPORTING_CURRENCY; null when the currency has no rate."""
    rate = currency.replace_strict(EUR_PER_UNIT, default=None, return_dtype=pl.Float64)
    return amount * rate
