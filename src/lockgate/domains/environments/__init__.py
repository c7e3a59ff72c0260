"""Environments: the tiers a project's rules and SDK keys are scoped to."""
