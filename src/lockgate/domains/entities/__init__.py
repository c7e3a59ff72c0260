"""What every Console entity kind shares: ids from names, metadata, versions, audit, references."""
