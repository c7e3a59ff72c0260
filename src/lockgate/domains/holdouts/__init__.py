"""Holdouts: a share of units kept out of the gates, experiments and layers they cover."""
