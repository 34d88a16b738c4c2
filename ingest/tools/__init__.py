"""Operator tools: the bundled broker, `reset-offsets`, dead-letter replay, `eventlake status` and its alerts."""
