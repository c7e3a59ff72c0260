"""The web console: server-rendered pages under ``/ui/`` over the same domain services as the
Console API (docs/console.md §Web console)."""
