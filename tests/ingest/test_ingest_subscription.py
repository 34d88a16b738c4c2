"""The ingester joins its group before its loop exists: a consumer closed before it ever consumed
leaves cleanly, and the next member resumes from bronze as usual."""

from __future__ import annotations

import threading
import time

from confluent_kafka import Consumer
from ingest_checks import assert_exactly_once, produce, true_ends

from eventlake.settings import Settings
from ingest.consume.ingester import ingest
from ingest.consume.options import consumer_config, incremental
from ingest.consume.subscription import Subscription
from ingest.kafka import cluster

LOGIN = (
    b'{"event_id":"e%d","event_type":"login","aggregate_id":"u","payload":{"user_id":"u"},'
    b'"timestamp":1750000000000}'
)


def test_a_member_closed_before_its_loop_leaves_and_the_next_one_takes_everything(
    kafka_settings: Settings,
) -> None:
    topic = kafka_settings.topics[0]
    produce(kafka_settings, [(topic, b"u", LOGIN % n) for n in range(300)])
    config = consumer_config(kafka_settings)
    early = Subscription(
        cluster.new_client(Consumer, config), None, incremental=incremental(config)
    )
    early.subscribe(list(kafka_settings.topics))
    time.sleep(2.0)  # the join (half the 2 s session timeout) is over: an assignment waits
    closer = threading.Thread(target=early.consumer.close, daemon=True)
    closer.start()
    closer.join(10.0)
    assert not closer.is_alive(), "close() of a member that never consumed blocked"

    stats = ingest(kafka_settings, until_idle=True)
    assert stats.events == 300
    assert_exactly_once(kafka_settings, true_ends(kafka_settings))
