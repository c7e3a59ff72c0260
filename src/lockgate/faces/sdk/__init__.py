"""What the official SDKs call: config specs, id lists, events, client initialize, HTTP API."""
