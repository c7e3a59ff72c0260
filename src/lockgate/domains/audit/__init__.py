"""Change history: the audit log and entity versions, shared by every entity kind."""
