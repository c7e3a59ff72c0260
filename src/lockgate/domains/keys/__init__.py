"""API keys: console, server secret and client keys, stored as hashes."""
