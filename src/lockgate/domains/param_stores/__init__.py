"""Parameter stores: named sets of parameters, each static or read from a gate, dynamic config,
experiment or layer (docs/console.md §Parameter stores)."""
