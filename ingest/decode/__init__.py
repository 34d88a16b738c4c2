"""Decoding: Kafka messages to bronze rows (the fast path, typed payload decoders, RFC 3339 timestamps)."""
