"""Cost of sealing sensitive fields at ingest, beside the decoding of the same batches.

    .venv/bin/python -m bench.privacy [--events 500000] [--batch 50000]

Simulated traffic (the ingest benchmark's mix: signups carry an email, logins an ip) is cut
into ingester-sized batches; each batch is decoded by the ingester's fast path (the reference:
work every batch costs anyway), then sealed by `ingest.write.field_sealing.FieldSealer`
against a key table in a temporary lake. The first pass over the traffic meets every user for
the first time (keys made and committed: cold); the second pass finds them in the cache
(warm). Prints the figures and writes them to bench/results/privacy.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from eventlake.field_crypto import new_master_key
from eventlake.registry import SENSITIVE_FIELDS
from eventlake.settings import Settings
from eventlake.subject_keys import KeyRing, master_key_of
from ingest.decode import fastpath
from ingest.simulator import SimulationOptions, messages
from ingest.write.field_sealing import FieldSealer

RESULTS = Path(__file__).resolve().parent / "results" / "privacy.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    options = SimulationOptions(days=7, users=20_000, seed=1, personal_data=True)
    stream = messages(options, seed=1, topics=("bench",), max_message_bytes=1 << 20)
    values = [m.value for m in itertools.islice(stream, args.events)]
    now_ms = int(time.time() * 1000) + 86_400_000
    decode_s, frames = 0.0, []
    for first in range(0, len(values), args.batch):
        started = time.perf_counter()
        fast = fastpath.accept(values[first : first + args.batch], now_ms=now_ms, max_bytes=1 << 20)
        decode_s += time.perf_counter() - started
        frames.append(fast.events)
    events = sum(f.height for f in frames)
    sensitive = sum(f.filter(f["event_type"].is_in(list(SENSITIVE_FIELDS))).height for f in frames)

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            env={"EVENTLAKE_PRIVACY_KEY": new_master_key()}, lake_root=f"{tmp}/lake"
        )
        sealer = FieldSealer(KeyRing(settings, master_key_of(settings)))
        passes = {}
        for name in ("cold", "warm"):
            started = time.perf_counter()
            for frame in frames:
                sealer.seal(frame)
            passes[name] = time.perf_counter() - started
        keys = sealer.keys.created

    result: dict[str, Any] = {
        "events": events,
        "batch": args.batch,
        "sensitive_rows": sensitive,
        "values_sealed_per_pass": sealer.sealed // 2,
        "keys_made": keys,
        "decode_us_per_event": decode_s / events * 1e6,
        "seal_cold_us_per_event": passes["cold"] / events * 1e6,
        "seal_warm_us_per_event": passes["warm"] / events * 1e6,
        "seal_warm_us_per_sealed_value": passes["warm"] / max(1, sealer.sealed / 2) * 1e6,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{events:,} events in batches of {args.batch:,}: {sensitive:,} of sensitive types, "
        f"{sealer.sealed // 2:,} values sealed per pass, {keys:,} keys made\n"
        f"decode (fast path, reference): {result['decode_us_per_event']:.2f} us/event\n"
        f"seal, cold (keys made and committed): {result['seal_cold_us_per_event']:.2f} us/event\n"
        f"seal, warm (keys cached): {result['seal_warm_us_per_event']:.2f} us/event "
        f"({result['seal_warm_us_per_sealed_value']:.1f} us per sealed value)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
