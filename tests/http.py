"""One TLS context for the tests' HTTP clients. httpx builds a TLS context (the system's
certificates, read and parsed) for every client it makes, ``httpx.post`` included: about a fifth
of a second on a loaded machine, longer than the plain-HTTP request to a local server that never
uses it. Clients made with ``verify=TLS`` share the one made here, once per run."""

from __future__ import annotations

import ssl

TLS = ssl.create_default_context()
