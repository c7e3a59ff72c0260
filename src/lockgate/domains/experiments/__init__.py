"""Experiments: groups, allocation, targeting, lifecycle, overrides and exposure health."""
