"""Ingestions: a team's warehouse rows brought into Lockgate's own event table, day by day
(docs/warehouse.md §Ingestions)."""
