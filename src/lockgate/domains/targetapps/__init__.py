"""Target apps: labels on entities, SDK keys and param stores that scope what a key downloads."""
