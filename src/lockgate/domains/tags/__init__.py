"""Tags: named labels that entities carry by name."""
