"""The web console's pages, one module per area."""
