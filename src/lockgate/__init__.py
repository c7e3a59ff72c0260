"""Lockgate: a self-hosted experimentation platform that speaks Statsig's protocols."""

__version__ = "0.1.0"
