"""Incremental Pulse: the per-unit values a load computed, kept so that the next load of the
same entity recomputes only the units whose raw rows changed since. ``load`` runs a load
through them; ``kept`` reads and writes them (``pulse_states``, ``pulse_state_units``,
``pulse_state_values``) and forgets those of deleted entities."""
