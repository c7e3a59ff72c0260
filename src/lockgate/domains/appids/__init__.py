"""Target app ids: looking apps up and resolving what a request names (an id or a name)."""
