"""Warehouse connections: one adapter over the team's own warehouse, a dialect hook for each
piece of SQL that differs between warehouses, and the project's stored connection
(docs/warehouse.md)."""
