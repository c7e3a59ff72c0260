"""Shared plumbing: settings, database sessions, ids, clocks."""
