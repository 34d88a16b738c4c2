"""The simulated message stream: the model's events as Kafka messages, with the fault knobs.

Pure and deterministic: given the options (seed included), the topics and the clock, the same
messages come out in the same order. Nothing here talks to Kafka.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import msgspec

from eventlake.envelope import RejectionCode
from eventlake.registry import topic_for
from ingest.simulator import faults
from ingest.simulator.model import TrafficModel

DAY_MS = 86_400_000
MAX_LATENESS_DAYS = 30
REORDER_WINDOW = 50  # an out-of-order message arrives up to this many messages late
DUPLICATE_WINDOW = 500  # a duplicate is re-sent up to this many messages after the original
LIVE_EVENTS_PER_S = 20.0  # how many users are on at once when no rate is given
# Sessions already under way when the stream starts: the model runs this long (or this many
# events) before the first message, so the stream starts with sessions in all stages.
WARMUP_S = 1800.0
WARMUP_EVENTS = 50_000
_OFFSETS = (
    UTC,
    timezone(timedelta(hours=2)),
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=30)),
)


def wall_clock_ms() -> int:
    """Returns the current time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, kw_only=True)
class SimulationOptions:
    """What to simulate: how much, how fast, over which days, and how much of it is faulty.

    Attributes:
        count: messages to produce (0 = forever); faulty ones included.
        rate: messages per second (0 = as fast as possible).
        days: event times spread over the last `days` days, ending now (0 = live timestamps).
        users: users that exist when the simulation starts (new ones keep arriving).
        seed: the random seed (None = a fresh one, reported in the stats).
        duplicates: fraction of events sent a second time (same event_id, same bytes).
        late: fraction of events whose timestamp lies 1 to 30 days in the past when sent.
        out_of_order: fraction of messages held back and sent up to 50 messages later.
        malformed: fraction of messages that break the wire format (every rejection code).
        personal_data: signups carry an `email` and logins an `ip` (fields the registry
            declares sensitive: sealed at ingest when a privacy key is set).
    """

    count: int = 10_000
    rate: float = 0.0
    days: float = 0.0
    users: int = 2_000
    seed: int | None = None
    duplicates: float = 0.0
    late: float = 0.0
    out_of_order: float = 0.0
    malformed: float = 0.0
    personal_data: bool = False

    def __post_init__(self) -> None:
        if self.count < 0 or self.rate < 0 or self.days < 0:
            raise ValueError("count, rate and days must be >= 0")
        if self.users < 1:
            raise ValueError("users must be >= 1")
        for name in ("duplicates", "late", "out_of_order", "malformed"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1")


@dataclass(frozen=True, slots=True)
class OutMessage:
    """One message to produce, with what the simulator knows about it."""

    topic: str
    key: bytes | None
    value: bytes
    event_type: str | None  # None for a malformed message
    rejection: RejectionCode | None = None  # the code a malformed message must earn
    duplicate: bool = False
    late: bool = False
    reordered: bool = False


def render_timestamp(time_ms: int, rng: random.Random, *, rfc3339: bool) -> int | str:
    """Returns the wire timestamp: epoch milliseconds, or RFC 3339 with some UTC offset."""
    if not rfc3339:
        return time_ms
    tz = rng.choice(_OFFSETS)
    moment = datetime.fromtimestamp(time_ms / 1000, UTC).astimezone(tz)
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if tz is UTC else text


def messages(
    options: SimulationOptions,
    *,
    seed: int,
    topics: Sequence[str],
    max_message_bytes: int,
    clock: Callable[[], int] = wall_clock_ms,
) -> Iterator[OutMessage]:
    """Returns the endless stream of simulated messages (the caller stops at its count)."""
    rng = random.Random(seed)
    now_ms = clock()
    if options.days > 0:
        span_s = options.days * 86_400
        good_share = max(0.05, 1.0 - options.malformed - options.duplicates)
        per_s = options.count * good_share / span_s if options.count else 2.0
        start_ms = now_ms - int(span_s * 1000)
    else:  # live: timestamps are the clock; the model's time only orders the sessions
        per_s = options.rate or LIVE_EVENTS_PER_S
        start_ms = now_ms
    warmup_ms = int(min(WARMUP_S, WARMUP_EVENTS / per_s) * 1000)
    model = TrafficModel(
        rng,
        users=options.users,
        start_ms=start_ms - warmup_ms,
        events_per_s=per_s,
        personal_data=options.personal_data,
    )
    held: list[tuple[int, int, OutMessage]] = []  # (release index, tiebreak, message)
    tiebreak = itertools.count()
    sent = 0
    malformed_sent = 0
    last_live_ms = 0

    for event in model:
        if event.time_ms < start_ms:
            continue  # warming up
        if options.days > 0 and event.time_ms <= now_ms:
            time_ms = event.time_ms
        else:  # live: the time of sending, never going backwards
            time_ms = last_live_ms = max(clock(), last_live_ms)
        late = rng.random() < options.late
        if late:
            time_ms -= int((1 + (MAX_LATENESS_DAYS - 1) * rng.random() ** 2) * DAY_MS)
        wire = {
            **event.envelope,
            "timestamp": render_timestamp(time_ms, rng, rfc3339=event.rfc3339),
        }
        topic = topic_for(event.event_type, topics)
        key = event.aggregate_id.encode()

        if rng.random() < options.malformed:
            code = faults.pick_code(rng, malformed_sent)
            value = faults.malformed(code, wire, rng, now_ms=now_ms, max_bytes=max_message_bytes)
            malformed_key = key if rng.random() < 0.8 else None
            yield OutMessage(topic, malformed_key, value, None, rejection=code)
            malformed_sent += 1
            sent += 1

        message = OutMessage(topic, key, msgspec.json.encode(wire), event.event_type, late=late)
        if rng.random() < options.duplicates:
            copy = OutMessage(topic, key, message.value, event.event_type, duplicate=True)
            release = sent + rng.randint(1, DUPLICATE_WINDOW)
            heapq.heappush(held, (release, next(tiebreak), copy))
        if rng.random() < options.out_of_order:
            release = sent + rng.randint(1, REORDER_WINDOW)
            heapq.heappush(held, (release, next(tiebreak), replace(message, reordered=True)))
        else:
            yield message
            sent += 1
        while held and held[0][0] <= sent:
            yield heapq.heappop(held)[2]
            sent += 1
