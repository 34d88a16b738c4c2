"""Operations on the lake: maintenance, retention, erasure, reveal, audits of the log."""
