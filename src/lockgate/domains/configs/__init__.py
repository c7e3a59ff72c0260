"""Dynamic configs: values, schemas, rules and lifecycle."""
