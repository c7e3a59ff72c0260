"""Feature gates: rules, lifecycle, overrides, references."""
