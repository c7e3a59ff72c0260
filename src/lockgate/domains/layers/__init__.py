"""Layers: shared parameters whose traffic experiments split between them."""
