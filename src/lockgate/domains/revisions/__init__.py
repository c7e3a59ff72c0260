"""The project's spec revision: what every change to an SDK payload bumps, in its transaction.

A leaf package, so that any domain (keys included, which projects bootstrap) can mark payloads
stale without an import cycle.
"""
