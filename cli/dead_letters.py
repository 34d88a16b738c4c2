"""inspect dead letters; replay the ones a registry change made valid

Inspect bronze/dead_letters, and replay into bronze/events the dead
letters that the event registry accepts now (exactly once: a dead letter whose
message bronze/events holds is 'replayed', and never written again).

examples:
  eventlake dead-letters list --code unknown_schema_version
  eventlake dead-letters show user_events/3/1042
  eventlake dead-letters replay --code unknown_schema_version --dry-run
  eventlake dead-letters replay --since 2026-11-01
"""

# `eventlake dead-letters list|show|replay`: inspect the rejected messages, and replay the ones a
# registry change made valid (`ingest.tools.dead_letter_replay`). The docstrings above and of
# the handlers are the --help text. Registered by `cli.main`; Polars, Delta and Kafka are
# imported by the handlers, so `--help` stays fast. Handlers take (args, settings) and return
# the exit code.

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from cli.args import command, command_group, count, day
from eventlake.envelope import REJECTION_CODES
from eventlake.errors import ConfigError, EventlakeError
from eventlake.settings import Settings

if TYPE_CHECKING:
    import polars as pl

    from ingest.tools.dead_letter_replay import Outcome, Selection, Verdicts

_SHOWN_BYTES = 2048  # of a raw message, unless --full
_LISTED = ["kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp", "error_code",
           "error_detail", "ingested_at"]  # fmt: skip


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds `dead-letters list|show|replay` to the `eventlake` parser."""
    actions = command_group(sub, "dead-letters", __doc__)
    filters = argparse.ArgumentParser(add_help=False)
    which = filters.add_argument_group("selection (all dead letters when none is given)")
    which.add_argument("--code", action="append", choices=REJECTION_CODES, metavar="CODE",
                       help=f"rejection code, repeatable: {', '.join(REJECTION_CODES)}")  # fmt: skip
    which.add_argument("--topic", action="append", metavar="TOPIC", help="topic, repeatable")
    which.add_argument("--since", type=day, metavar="DATE", help="dead-lettered on or after "
                       "this UTC day (YYYY-MM-DD)")  # fmt: skip
    which.add_argument("--until", type=day, metavar="DATE", help="dead-lettered on or before "
                       "this UTC day")  # fmt: skip

    p = command(actions, "list", _list, parent, filters)
    p.add_argument("--limit", type=count, default=50, help="rows to print (0 = all; default 50)")

    p = command(actions, "show", _show, parent)
    p.add_argument("coordinates", nargs="?", type=_coordinates, metavar="TOPIC/PARTITION/OFFSET")
    p.add_argument("--topic", dest="one_topic", metavar="TOPIC", help="instead of the argument")
    p.add_argument("--partition", type=count, help="instead of the argument")
    p.add_argument("--offset", type=count, help="instead of the argument")
    p.add_argument("--full", action="store_true", help=f"print all of the raw message "
                   f"(default: its first {_SHOWN_BYTES} bytes)")  # fmt: skip

    p = command(actions, "replay", _replay, parent, filters)
    p.add_argument("--dry-run", action="store_true", help="judge and count; write nothing")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: on a terminal, for 1000+ dead letters)")  # fmt: skip


def _coordinates(text: str) -> tuple[str, int, int]:
    parts = text.rsplit("/", 2)
    if len(parts) == 3 and parts[0] and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[1]), int(parts[2])
    raise argparse.ArgumentTypeError(
        f"{text!r} is not TOPIC/PARTITION/OFFSET (e.g. user_events/3/1042)"
    )


def _selection(args: argparse.Namespace) -> Selection:
    from ingest.tools.dead_letter_replay import Selection

    if args.since and args.until and args.since > args.until:
        raise ConfigError(f"--since {args.since} is after --until {args.until}")
    return Selection(
        codes=tuple(args.code or ()),
        topics=tuple(args.topic or ()),
        since=args.since,
        until=args.until,
    )


def _list(args: argparse.Namespace, settings: Settings) -> int:
    """a table of dead letters (newest first) and counts per code

    List dead letters, newest first, with their status (pending, or replayed:
    bronze/events holds the message), and the counts per code of the selection.

    examples:
      eventlake dead-letters list
      eventlake dead-letters list --code payload_invalid --topic commerce_events --limit 0
    """
    import polars as pl

    from eventlake import lake
    from eventlake.catalog import BRONZE_EVENTS
    from ingest.tools import dead_letter_replay

    rows = dead_letter_replay.with_status(
        dead_letter_replay.select(settings, _selection(args), columns=_LISTED),
        lake.open_table(settings, BRONZE_EVENTS),
    )
    pending = rows.filter(pl.col("status") == "pending").height
    print(f"dead letters: {rows.height} selected ({pending} pending, "
          f"{rows.height - pending} replayed)")  # fmt: skip
    if rows.is_empty():
        return 0
    newest = rows.reverse().head(args.limit or rows.height)
    _print(
        newest.select(
            topic="kafka_topic",
            partition="kafka_partition",
            offset="kafka_offset",
            code="error_code",
            detail="error_detail",
            ingested_at=pl.col("ingested_at").dt.truncate("1s"),
            status="status",
        )
    )
    if newest.height < rows.height:
        print(f"(the newest {newest.height} of {rows.height}; --limit 0 prints all)")
    by_code = (
        rows.group_by("error_code")
        .agg(
            pending=(pl.col("status") == "pending").sum(),
            replayed=(pl.col("status") == "replayed").sum(),
            total=pl.len(),
        )
        .sort("error_code")
        .rename({"error_code": "code"})
    )
    print("by code:")
    _print(by_code)
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    """one dead letter in full, and what the registry says of it now

    Print one dead letter in full: its key and raw message (UTF-8 text, or
    hex when binary), its code then, its status, and what parsing it says now.

    examples:
      eventlake dead-letters show user_events/3/1042
      eventlake dead-letters show --topic user_events --partition 3 --offset 1042 --full
    """
    import time

    from eventlake import lake
    from eventlake.catalog import BRONZE_EVENTS
    from ingest.tools import dead_letter_replay

    where = args.coordinates
    flags = (args.one_topic, args.partition, args.offset)
    if where is not None and any(f is not None for f in flags):
        raise ConfigError("dead-letters show: give TOPIC/PARTITION/OFFSET or the flags, not both")
    if where is None:
        if any(f is None for f in flags):
            raise ConfigError(
                "dead-letters show: give TOPIC/PARTITION/OFFSET, or --topic, --partition and "
                "--offset"
            )
        where = flags
    rows = dead_letter_replay.with_status(
        dead_letter_replay.select(settings, dead_letter_replay.Selection(coordinates=where)),
        lake.open_table(settings, BRONZE_EVENTS),
    )
    name = "/".join(map(str, where))
    if rows.is_empty():
        raise EventlakeError(f"no dead letter at {name} (see `eventlake dead-letters list`)")
    limit = None if args.full else _SHOWN_BYTES
    for one in rows.iter_slices(n_rows=1):  # more than one only for a recreated topic
        row = one.row(0, named=True)
        verdict = dead_letter_replay.judge(
            one,
            max_bytes=settings.max_message_bytes,
            ingested_at_us=time.time_ns() // 1000,
            progress=False,
        )
        print(f"dead letter {name}")
        for label in ("kafka_timestamp", "ingested_at", "error_code", "error_detail"):
            print(f"  {label:<16} {row[label]}")
        held = "  (bronze/events holds this message)" if row["status"] == "replayed" else ""
        print(f"  {'status':<16} {row['status']}{held}")
        print(f"  {'parse now':<16} {_verdict_line(verdict)}")
        for label in ("key", "raw"):
            kind, body = render_bytes(row[label], limit)
            print(f"  {label:<16} {kind}")
            if body:
                print(body)
    return 0


def _verdict_line(verdict: Verdicts) -> str:
    if verdict.events.height:
        event = verdict.events.row(0, named=True)
        return (
            f"accepted: {event['event_type']} v{event['schema_version']}, event date "
            f"{event['event_date']} (a replay appends it unless replayed)"
        )
    rejected = verdict.rejected.row(0, named=True)
    return f"rejected: {rejected['error_code']}: {rejected['error_detail']}"


def render_bytes(data: bytes | None, limit: int | None) -> tuple[str, str]:
    """Returns (what `data` is, its text fit for a terminal): UTF-8 text as is, anything else
    (invalid UTF-8, control characters) as hex, 32 bytes a line; cut after `limit` bytes."""
    if data is None:
        return "(none)", ""
    shown = data if limit is None else data[:limit]
    more = f" (first {len(shown)} shown; --full prints all)" if len(shown) < len(data) else ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\n\t" for c in text):
        cut = shown.decode("utf-8", errors="ignore")  # a cut may split a character
        return f"{len(data)} bytes, UTF-8{more}", "    " + cut.replace("\n", "\n    ")
    lines = [shown[i : i + 32].hex(" ") for i in range(0, len(shown), 32)]
    return f"{len(data)} bytes, binary (hex){more}", "\n".join("    " + line for line in lines)


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    """append the dead letters valid now to bronze/events, exactly once

    Judge the selected pending dead letters with the event registry (and
    EVENTLAKE_MAX_MESSAGE_BYTES) of now, and append the valid ones to bronze/events with
    their Kafka topic, partition, offset and timestamp, in one commit. The event-time
    range is checked against when each was dead-lettered, not against today. Running it
    again writes nothing; concurrent replays write each message once.

    examples:
      eventlake dead-letters replay --dry-run
      eventlake dead-letters replay --code unknown_schema_version --topic user_events
    """
    from ingest.tools import dead_letter_replay

    outcome = dead_letter_replay.replay(
        settings, _selection(args), dry_run=args.dry_run, progress=args.progress
    )
    print(summary(outcome))
    return 0


def summary(outcome: Outcome) -> str:
    """Returns the lines a replay prints: replayed, still invalid (by code), already replayed."""
    if outcome.dry_run:
        head = f"dry run: would replay {outcome.replayed} of {outcome.selected} selected dead " \
               "letters; nothing written"  # fmt: skip
    elif outcome.version is None:
        head = f"replayed 0 of {outcome.selected} selected dead letters; nothing written"
    else:
        head = (
            f"replayed {outcome.replayed} of {outcome.selected} selected dead letters into "
            f"bronze/events (version {outcome.version})"
        )
    codes = ", ".join(f"{code} {n}" for code, n in sorted(outcome.still_invalid.items()))
    invalid = sum(outcome.still_invalid.values())
    return "\n".join(
        [
            head,
            f"still invalid: {invalid}" + (f" ({codes})" if codes else ""),
            f"already replayed: {outcome.already}",
        ]
    )


def _print(frame: pl.DataFrame) -> None:
    from cli.tables import print_table

    print_table(frame)
    sys.stdout.flush()
