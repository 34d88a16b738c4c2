"""Observing the ingester: Prometheus metrics, consumer lag, the stats of a run, JSON logs."""
