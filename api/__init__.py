"""The HTTP API: event capture for clients that cannot speak Kafka, and read-only figures."""
