"""The malformed corpus through a real broker: every rejection code lands in bronze/dead_letters
exactly once, with the raw bytes and key as sent (docs/service-levels.md, bad input)."""

from __future__ import annotations

from collections import Counter

import polars as pl
from decode_checks import assert_identical
from ingest_checks import assert_exactly_once, produce, true_ends
from malformed_corpus import CORPUS

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.envelope import REJECTION_CODES
from eventlake.settings import Settings
from ingest.consume.ingester import ingest


def test_the_corpus_decodes_as_parse_judges_it() -> None:
    assert_identical([value for _, value in CORPUS])
    assert {code for code, _ in CORPUS} == {*REJECTION_CODES, "ok"}


def test_every_rejection_code_lands_in_dead_letters_once_with_its_raw_bytes(
    kafka_settings: Settings,
) -> None:
    topic = kafka_settings.topics[0]
    sent = [(topic, b"key-%d" % i, value) for i, (_, value) in enumerate(CORPUS)]
    delivered = produce(kafka_settings, sent, partition=3)
    assert delivered == {(topic, 3): list(range(len(CORPUS)))}

    run = ingest(kafka_settings, until_idle=True, batch_max_events=17)  # batches split the corpus
    assert run.batches >= 3
    assert_exactly_once(kafka_settings, true_ends(kafka_settings))
    dead = lake.scan(kafka_settings, BRONZE_DEAD_LETTERS).sort("kafka_offset").collect()
    expected = [(i, code, value) for i, (code, value) in enumerate(CORPUS) if code != "ok"]
    assert dead.select("kafka_offset", "error_code", "raw").rows() == expected
    assert dead["key"].to_list() == [b"key-%d" % i for i, _, _ in expected]
    assert (dead["error_detail"].str.len_chars() > 0).all()
    assert Counter(dead["error_code"]).keys() == set(REJECTION_CODES)
    events = lake.scan(kafka_settings, BRONZE_EVENTS).collect()
    assert sorted(events["kafka_offset"]) == [i for i, (c, _) in enumerate(CORPUS) if c == "ok"]
    assert events.filter(pl.col("extra").is_not_null())["extra"].to_list() == ['{"tenant":"acme"}']
