"""Targeting rules and conditions as the Console API writes them: vocabulary and validation."""
