"""Running it: Prometheus metrics, health, the access log, JSON logs, offline docs."""
