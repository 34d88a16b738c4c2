"""Benchmarks for SPEC section 5: each runs with one documented command and prints its figures."""
