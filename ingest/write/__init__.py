"""Writing: the writer thread, bronze commits fenced by the offsets of record, sealing of sensitive fields, the batch log (bronze/ingest_batches)."""
