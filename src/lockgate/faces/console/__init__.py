"""The Console API: shared conventions (envelope, errors, auth, pagination) and its routers."""
