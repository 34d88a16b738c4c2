"""A query's frame as the client asked for it: JSON rows, CSV, or an Arrow IPC stream."""

from __future__ import annotations

import io
from enum import StrEnum

import polars as pl
from fastapi import Response

ARROW_MEDIA_TYPE = "application/vnd.apache.arrow.stream"


class Format(StrEnum):
    """The response formats of the query API."""

    json = "json"
    csv = "csv"
    arrow = "arrow"


def framed(frame: pl.DataFrame, fmt: Format, *, headers: dict[str, str] | None = None) -> Response:
    """Returns `frame` as a response: JSON (an array of row objects; dates and times in ISO
    8601), CSV with a header row, or an Arrow IPC stream (types kept exactly)."""
    if fmt is Format.csv:
        return Response(frame.write_csv(), media_type="text/csv", headers=headers)
    if fmt is Format.arrow:
        sink = io.BytesIO()
        frame.write_ipc_stream(sink)
        return Response(sink.getvalue(), media_type=ARROW_MEDIA_TYPE, headers=headers)
    return Response(frame.write_json(), media_type="application/json", headers=headers)
