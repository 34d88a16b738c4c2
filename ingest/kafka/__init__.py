"""Talking to Kafka: the config of every client, and cluster facts (topics, topic ids, true end offsets)."""
