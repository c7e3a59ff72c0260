"""Pulse: experiment results computed from stored exposures and events."""
