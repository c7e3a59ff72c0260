"""Segments: rule-based segments and id lists."""
