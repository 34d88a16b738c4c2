"""Rotating the master key: every data key of privacy/subject_keys rewrapped under a new one.

The log is not touched: a data key keeps its id, so every sealed value opens as before
(docs/privacy.md, "Rotating the master key").
"""

from __future__ import annotations

import polars as pl

from eventlake import lake
from eventlake.catalog import PRIVACY_SUBJECT_KEYS as SPEC
from eventlake.field_crypto import MasterKey, PrivacyError
from eventlake.settings import Settings
from eventlake.subject_keys import open_keys, read_keys


def rewrap(settings: Settings, old: MasterKey, new: MasterKey) -> int:
    """Returns how many keys it rewrapped from `old` to `new` (the table is replaced whole).

    Keys already under `new` are kept as they are. Stop the ingesters first: a key they make
    under `old` meanwhile would be lost by the replace.

    Raises:
        PrivacyError: a key opens with neither master key.
    """
    table = open_keys(settings)
    if table is None:
        return 0
    rows = read_keys(table)
    out, moved = [], 0
    for subject, key_id, master_id, wrapped, created in rows.select(
        "subject_id", "key_id", "master_key_id", "wrapped_key", "created_at"
    ).iter_rows():
        if master_id != new.key_id:
            if master_id != old.key_id:
                raise PrivacyError(
                    f"key {key_id} is wrapped under master key {master_id}, neither the old "
                    f"({old.key_id}) nor the new ({new.key_id})"
                )
            wrapped = new.wrap(subject, key_id, old.unwrap_raw(subject, key_id, wrapped))
            moved += 1
        out.append((subject, key_id, new.key_id, wrapped, created))
    frame = pl.DataFrame(out, schema=SPEC.schema, orient="row")
    lake.replace_all(settings, SPEC, frame)
    return moved
