"""Metrics: definitions (the Metrics Console API), automatic event metrics, and per-unit values as
portable SQL over the event store."""
