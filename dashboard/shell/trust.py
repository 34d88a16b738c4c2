"""Page elements that make figures trustworthy: the as-of banner, restated-figure marks and the
list of restatements, the note of how figures are computed and what they read (lineage)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import polars as pl
import streamlit as st

from dashboard.data import cache, reads
from dashboard.data.scope import Scope
from dashboard.shapes import restated
from dashboard.shell import widgets
from dashboard.shell.asof import AsOf
from eventlake.catalog import AUDIT_RESTATEMENTS, TableSpec
from eventlake.errors import LakeError
from eventlake.settings import Settings

LINEAGE_LABEL = "ℹ️ How these figures are computed"


def asof_banner(settings: Settings, chosen: AsOf, tables: Sequence[TableSpec]) -> None:
    """Draws the notice that the page shows the past, with the version of each table read."""
    parts = []
    for spec in tables:
        try:
            version = reads.version_at(settings, spec, chosen.moment)
        except LakeError:
            version = None
        parts.append(f"`{spec.name}` " + ("absent" if version is None else f"v{version}"))
    st.warning(
        f"**As of {chosen.label}.** Every table is read as it was then: "
        + ", ".join(parts)
        + ". Live figures and the auto-refresh are off; restatements made later are not shown.",
        icon="🕰️",
    )


def page_restatements(
    settings: Settings, tables: Sequence[TableSpec], scope: Scope
) -> pl.DataFrame:
    """Returns one row per restatement of the page's tables on the scope's days, as of its
    moment (cached; empty on error)."""
    names = tuple(spec.name for spec in tables)
    try:
        return cache.restatements(settings, replace(scope, tables=names))
    except LakeError as err:
        widgets.lake_error(err)
        return AUDIT_RESTATEMENTS.empty()


def restatements_expander(found: pl.DataFrame, *, key: str) -> None:
    """Draws the list of restated figures of the page (what changed, when, why), with CSV."""
    count = found.height
    with st.expander(f"{restated.MARK} Restated figures ({count})", expanded=False):
        if not count:
            st.caption(
                "No figure of these tables on these days was restated: each one still has the "
                "value it was first written with."
            )
            return
        st.caption(
            "Each row is one figure that changed after it was first published, from the "
            f"restatement ledger ({AUDIT_RESTATEMENTS.name}): the old and new value, the Delta versions "
            "of the table before and after, and the cause."
        )
        st.dataframe(found, hide_index=True, width="stretch")
        widgets.csv_download("Restatements (CSV)", found, "restatements.csv", key=key)


def lineage(notes: str, tables: Sequence[TableSpec], filters: str) -> None:
    """Draws the note of how the page's figures are computed, what they read, and which
    filters apply to them."""
    with st.expander(LINEAGE_LABEL):
        st.markdown(notes)
        st.markdown("**Reads:** " + ", ".join(f"`{spec.name}`" for spec in tables) + ".")
        st.markdown("**Filters:** " + filters)
