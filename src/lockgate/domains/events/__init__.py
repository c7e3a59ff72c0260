"""Event ingestion: exposures and custom events from every SDK, stored durably in batches."""
