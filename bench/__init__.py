"""Benchmarks for docs/service-levels.md: each runs with one documented command and prints its figures."""
