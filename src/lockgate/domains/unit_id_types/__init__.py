"""Unit ID types: the custom unit id types a project defines beside userID and stableID."""
