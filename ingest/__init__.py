"""Kafka to bronze: the local broker, the traffic simulator, and the exactly-once ingester."""
